"""The information reporting and sampling system (信息上报及抽样系统): sample draws, rosters, booklets, test IDs,
test-taker information after the test, and the weights every later estimate uses."""
