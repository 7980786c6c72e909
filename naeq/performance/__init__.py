"""Performance tasks (issue 9): listening items played under the item's play limit, singing and spoken-English
responses recorded in the browser and stored with the answers' never-lose discipline, the singing/oral room's
operation, and scanned drawings. See docs/performance.md."""
