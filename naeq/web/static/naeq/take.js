/*
 * naeq online test client. Plain ES5, no framework, no build step: it must run on old school computers.
 *
 * Durability (docs/online-client.md):
 *  - every answer is written to localStorage (key "naeq.attempt.<id>") with a per-item sequence number
 *    (max(local, server) + 1) before anything else happens;
 *  - a sender posts changed answers in small batches (debounced), and marks an answer safe only when the
 *    server's acknowledgement names it with seq >= the local one (the server acknowledges after commit);
 *  - failures are retried with exponential backoff and jitter (cap 30 s), across offline periods and reloads;
 *  - on load the server's copy is fetched and merged by seq (resume on another computer);
 *  - submit carries every unsent answer, is idempotent, and is retried until the server confirms it.
 * All visible text comes from the page (translated on the server); this file has no strings of its own.
 */
(function () {
  "use strict";

  var BATCH_MAX = 50;
  var DEBOUNCE_MS = 1200;
  var BACKOFF_MIN_MS = 1000;
  var BACKOFF_MAX_MS = 30000;
  var REQUEST_TIMEOUT_MS = 20000;

  function $(id) { return document.getElementById(id); }
  function readJSON(id) { return JSON.parse($(id).textContent); }

  var content = readJSON("take-content");
  var config = readJSON("take-config");
  var L = config.labels;
  var STORE_KEY = "naeq.attempt." + config.attempt;

  function fmt(text, values) {
    return String(text).replace(/%\((\w+)\)s/g, function (m, name) {
      return values && values.hasOwnProperty(name) ? String(values[name]) : m;
    });
  }
  function has(list, value) {
    for (var i = 0; i < list.length; i++) { if (list[i] === value) { return true; } }
    return false;
  }
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    var k;
    attrs = attrs || {};
    for (k in attrs) {
      if (!attrs.hasOwnProperty(k)) { continue; }
      if (k === "text") { node.appendChild(document.createTextNode(attrs[k])); }
      else if (k === "className") { node.className = attrs[k]; }
      else { node.setAttribute(k, attrs[k]); }
    }
    for (var i = 0; children && i < children.length; i++) {
      if (children[i]) { node.appendChild(children[i]); }
    }
    return node;
  }
  function toggleClass(node, name, on) {
    var parts = (node.className || "").split(/\s+/), out = [];
    for (var i = 0; i < parts.length; i++) { if (parts[i] && parts[i] !== name) { out.push(parts[i]); } }
    if (on) { out.push(name); }
    node.className = out.join(" ");
  }
  function now() { return new Date().getTime(); }

  /* ------------------------------------------------------------------------------------------ storage */

  var memoryStore = null;
  function storageGet() {
    try { return window.localStorage.getItem(STORE_KEY); } catch (e) { return memoryStore; }
  }
  function storageSet(text) {
    memoryStore = text;
    try { window.localStorage.setItem(STORE_KEY, text); } catch (e) { /* private mode or full: memory only */ }
  }
  function storageClear() {
    memoryStore = null;
    try { window.localStorage.removeItem(STORE_KEY); } catch (e) { /* nothing to clear */ }
  }

  // state.answers[code] = {v: value, seq: n, acked: n}; acked = highest seq the server acknowledged.
  var state = { answers: {}, flags: {}, page: null, submitting: false };
  (function load() {
    var raw = storageGet();
    if (!raw) { return; }
    try {
      var saved = JSON.parse(raw);
      if (saved && saved.answers) {
        state.answers = saved.answers;
        state.flags = saved.flags || {};
        state.page = saved.page || null;
        state.submitting = !!saved.submitting;
      }
    } catch (e) { /* a damaged copy: start from the server's */ }
  }());
  function persist() { storageSet(JSON.stringify(state)); }

  /* ------------------------------------------------------------------------------------------ items */

  var items = {};        // code -> item
  var itemPage = {};     // code -> page name
  var pages = content.pages;
  var pageByName = {};
  var itemOrder = [];    // codes in display order
  var i, j;
  for (i = 0; i < pages.length; i++) {
    pageByName[pages[i].name] = pages[i];
    for (j = 0; j < pages[i].items.length; j++) {
      items[pages[i].items[j].code] = pages[i].items[j];
      itemPage[pages[i].items[j].code] = pages[i].name;
      itemOrder.push(pages[i].items[j].code);
    }
  }
  var bookletOrder = content.booklet_order || [];
  for (i = 0; i < pages.length; i++) { if (!has(bookletOrder, pages[i].name)) { bookletOrder.push(pages[i].name); } }

  function optionValues(item) {
    var out = [], opts = item.options || [];
    for (var k = 0; k < opts.length; k++) { out.push(String(opts[k] && opts[k].value !== undefined ? opts[k].value : opts[k])); }
    return out;
  }
  function rowList(item) {
    var out = [], rows = item.rows || [];
    for (var k = 0; k < rows.length; k++) {
      var r = rows[k];
      if (r && typeof r === "object") {
        out.push({ id: String(r.value !== undefined ? r.value : (r.code !== undefined ? r.code : k + 1)),
                   label: String(r.label || r.text || r.value || "") });
      } else {
        out.push({ id: String(k + 1), label: String(r) });
      }
    }
    return out;
  }
  function valueOf(code) { var a = state.answers[code]; return a ? a.v : null; }
  function isBlank(v) {
    if (v === null || v === undefined) { return true; }
    if (typeof v === "string") { return v.replace(/\s+/g, "") === ""; }
    if (v instanceof Array) { return v.length === 0; }
    if (typeof v === "object") {
      for (var k in v) { if (v.hasOwnProperty(k)) { return false; } }
      return true;
    }
    return false;
  }
  function matches(value, accepted) {
    var wanted = [];
    for (var k = 0; k < (accepted || []).length; k++) { wanted.push(String(accepted[k])); }
    if (value instanceof Array) {
      for (k = 0; k < value.length; k++) { if (has(wanted, String(value[k]))) { return true; } }
      return false;
    }
    if (value && typeof value === "object") { value = value.choice; }
    return value !== null && value !== undefined && has(wanted, String(value));
  }

  /* Conditional display and skip rules, evaluated in the booklet's page order (as the server scores). */
  var visibleItems = {};
  var visiblePages = [];
  function computeVisibility() {
    var shown = {}, skipped = {}, k, m;
    for (k = 0; k < bookletOrder.length; k++) {
      var page = pageByName[bookletOrder[k]];
      if (!page || skipped[page.name]) { continue; }
      for (m = 0; m < page.items.length; m++) {
        var item = page.items[m];
        var rule = item.show_if;
        if (rule && !(shown[rule.item] && matches(valueOf(rule.item), rule["in"]))) { continue; }
        shown[item.code] = true;
        var skip = item.skip;
        if (skip && matches(valueOf(item.code), skip["in"])) {
          for (var s = page.screen + 1; s < Number(skip.to_screen); s++) { skipped[page.block + ":" + s] = true; }
        }
      }
    }
    visibleItems = shown;
    visiblePages = [];
    for (k = 0; k < pages.length; k++) {
      if (skipped[pages[k].name]) { continue; }
      for (m = 0; m < pages[k].items.length; m++) {
        if (shown[pages[k].items[m].code]) { visiblePages.push(pages[k].name); break; }
      }
    }
  }

  /* ------------------------------------------------------------------------------------------ answers */

  var touchedThisLoad = {};
  function setAnswer(code, value) {
    var a = state.answers[code] || { v: null, seq: 0, acked: 0 };
    a.v = value;
    a.seq = Math.max(a.seq || 0, a.acked || 0) + 1;
    state.answers[code] = a;
    touchedThisLoad[code] = true;
    persist();                       // durable on this computer before anything else
    computeVisibility();
    applyVisibility();
    refreshStates();
    // At most DEBOUNCE_MS after the first unsent change (steady typing must not postpone saving forever); a
    // pending retry or request keeps its own schedule.
    if (!net.timer && !net.inFlight) { scheduleSend(DEBOUNCE_MS); }
  }
  function pendingCodes() {
    var out = [];
    for (var code in state.answers) {
      if (state.answers.hasOwnProperty(code) && (state.answers[code].seq || 0) > (state.answers[code].acked || 0)) {
        out.push(code);
      }
    }
    return out;
  }
  function applyAcks(acked) {
    for (var k = 0; k < (acked || []).length; k++) {
      var a = state.answers[acked[k][0]];
      if (a && acked[k][1] > (a.acked || 0)) { a.acked = acked[k][1]; }
    }
    persist();
  }

  /* ------------------------------------------------------------------------------------------ network */

  function request(method, url, body, done) {
    var xhr = new XMLHttpRequest();
    var finished = false;
    function finish(status, data) {
      if (finished) { return; }
      finished = true;
      done(status, data);
    }
    xhr.open(method, url, true);
    xhr.setRequestHeader("X-Attempt-Token", config.token);
    xhr.setRequestHeader("Content-Type", "application/json");
    xhr.timeout = REQUEST_TIMEOUT_MS;
    xhr.onreadystatechange = function () {
      if (xhr.readyState !== 4) { return; }
      var data = null;
      try { data = JSON.parse(xhr.responseText); } catch (e) { data = null; }
      finish(xhr.status, data);
    };
    xhr.ontimeout = function () { finish(0, null); };
    xhr.onerror = function () { finish(0, null); };
    try { xhr.send(body === null ? null : JSON.stringify(body)); } catch (e) { finish(0, null); }
  }

  var net = { synced: false, inFlight: null, offline: navigator.onLine === false, failures: 0, timer: null,
              problem: null, done: false, submitInFlight: false };

  function backoff() {
    var base = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * Math.pow(2, Math.min(net.failures, 10)));
    return Math.round(base / 2 + Math.random() * base / 2);
  }
  function scheduleSend(delay) {
    if (net.done) { return; }
    if (net.timer) { clearTimeout(net.timer); }
    net.timer = setTimeout(function () { net.timer = null; tick(); }, delay);
  }
  function failed(status) {
    net.failures += 1;
    net.offline = status === 0;
    refreshStates();
    scheduleSend(backoff());
  }
  function ok() {
    net.failures = 0;
    net.offline = false;
    net.problem = null;
  }

  function tick() {
    if (net.done) { return; }
    if (!net.synced) { fetchServerCopy(); return; }
    if (state.submitting) { sendSubmit(); return; }
    sendBatch();
  }

  /* Resume: the server's copy, merged by seq. */
  function fetchServerCopy() {
    request("GET", config.api + "answers", null, function (status, data) {
      if (status !== 200 || !data) { handleRefusal(status, data); return; }
      ok();
      if (data.status === "submitted") { finished(); return; }
      var server = data.answers || {};
      for (var code in server) {
        if (!server.hasOwnProperty(code)) { continue; }
        var s = server[code], a = state.answers[code];
        if (!a) {
          state.answers[code] = { v: s.value, seq: s.seq, acked: s.seq };
        } else if (s.seq >= a.seq) {
          if (touchedThisLoad[code] && JSON.stringify(s.value) !== JSON.stringify(a.v)) {
            a.seq = s.seq + 1;               // changed here while the copy was on its way: newest intent wins
            a.acked = s.seq;
          } else {
            a.v = s.value; a.seq = s.seq; a.acked = s.seq;
          }
        } else if (s.seq > (a.acked || 0)) {
          a.acked = s.seq;                   // local is newer; the server holds at least this much
        }
      }
      net.synced = true;
      document.body.setAttribute("data-synced", "true");
      persist();
      computeVisibility();
      renderPage(false);
      refreshStates();
      tick();
    });
  }

  function sendBatch() {
    if (net.inFlight) { return; }
    var codes = pendingCodes();
    if (!codes.length) { refreshStates(); return; }
    codes = codes.slice(0, BATCH_MAX);
    var batch = [], sent = {};
    for (var k = 0; k < codes.length; k++) {
      var a = state.answers[codes[k]];
      batch.push({ item: codes[k], value: a.v, seq: a.seq });
      sent[codes[k]] = a.seq;
    }
    net.inFlight = sent;
    refreshStates();
    request("POST", config.api + "answers", { answers: batch }, function (status, data) {
      net.inFlight = null;
      if (status === 200 && data && data.ok) {
        ok();
        applyAcks(data.acked);
        refreshStates();
        if (pendingCodes().length) { scheduleSend(50); }
        return;
      }
      handleRefusal(status, data);
    });
  }

  function handleRefusal(status, data) {
    var reason = data && data.error;
    if (status === 409 && reason === "submitted") { finished(); return; }
    if (status === 409 && reason === "closed") { net.problem = L.closed; }
    else if (status === 401) { net.problem = L.session_expired; }
    else if (status === 400 && reason) { net.problem = String(reason); }
    showAlert(net.problem);
    failed(status);
  }

  function sendSubmit() {
    if (net.submitInFlight) { return; }
    var codes = pendingCodes();
    if (codes.length > 200) { state.submitting = true; persist(); sendBatch(); return; }
    var batch = [];
    for (var k = 0; k < codes.length; k++) {
      var a = state.answers[codes[k]];
      batch.push({ item: codes[k], value: a.v, seq: a.seq });
    }
    showAlert(L.submitting);
    net.submitInFlight = true;
    request("POST", config.api + "submit", { answers: batch }, function (status, data) {
      net.submitInFlight = false;
      if (status === 200 && data && data.ok) { finished(); return; }
      if (status === 409 && data && data.error === "submitted") { finished(); return; }
      if (status !== 409 && status !== 401 && status !== 400) { showAlert(L.submit_failed); failed(status); return; }
      handleRefusal(status, data);
    });
  }

  function finished() {
    net.done = true;
    if (net.timer) { clearTimeout(net.timer); }
    storageClear();
    $("take-main").innerHTML = "";
    $("take-index").innerHTML = "";
    var hide = ["take-dialog", "take-alert"];
    for (var k = 0; k < hide.length; k++) { $(hide[k]).hidden = true; }
    document.body.className = "take take-done";
    $("take-finished").hidden = false;
    stopTimer();
    if (window.NAEQ_PERF && window.NAEQ_PERF.finished) { window.NAEQ_PERF.finished(); }   // hook (issue 9)
  }

  /* ------------------------------------------------------------------------------------------ status */

  function itemState(code) {
    var a = state.answers[code];
    if (!a || (a.seq || 0) <= (a.acked || 0)) { return a ? "saved" : "none"; }
    if (net.inFlight && net.inFlight[code] === a.seq) { return "saving"; }
    return net.offline ? "offline" : "unsaved";
  }
  function overallState() {
    var pending = pendingCodes();
    if (!pending.length) { return "saved"; }
    if (net.offline) { return "offline"; }
    if (net.inFlight) { return "saving"; }
    return "unsaved";
  }
  function refreshStates() {
    var overall = overallState();
    var status = $("take-status");
    status.setAttribute("data-state", overall);
    var pending = pendingCodes().length;
    status.lastChild.textContent = L[overall] + (pending ? " · " + fmt(L.pending, { n: pending }) : "");
    var marks = document.querySelectorAll("[data-item-state]");
    for (var k = 0; k < marks.length; k++) {
      var code = marks[k].getAttribute("data-item-state");
      var s = itemState(code);
      marks[k].setAttribute("data-state", s);
      marks[k].textContent = s === "none" ? "" : L[s];
    }
    renderIndex();
  }
  function showAlert(text) {
    var box = $("take-alert");
    box.hidden = !text;
    box.textContent = text || "";
  }

  /* ------------------------------------------------------------------------------------------ rendering */

  function mediaNodes(list, ownerKind, ownerCode) {
    var out = [];
    for (var k = 0; list && k < list.length; k++) {
      var m = list[k], src = config.media + encodeURIComponent(m.file);
      // Hook (issue 9, web/performance/perf.js): a counted play button instead of the plain player.
      if (m.kind === "audio" && window.NAEQ_PERF) { out.push(window.NAEQ_PERF.audio(m, ownerKind, ownerCode)); }
      else if (m.kind === "audio") { out.push(el("audio", { controls: "controls", preload: "none", src: src })); }
      else { out.push(el("img", { src: src, alt: m.alt || "", className: "take-img" })); }
    }
    return out;
  }

  function choiceList(item, type, name, current, onPick) {
    var opts = item.options && item.options.length ? item.options :
      (item.type === "true_false" ? [{ value: "T", label: L["true"] }, { value: "F", label: L["false"] }] : []);
    var list = el("div", { className: "choices" + (item.type === "likert" ? " choices-row" : "") });
    for (var k = 0; k < opts.length; k++) {
      var value = String(opts[k].value);
      var id = name + "-" + k;
      var input = el("input", { type: type, name: name, id: id, value: value });
      if (type === "radio") { input.checked = current !== null && String(current) === value; }
      else { input.checked = current instanceof Array && has(current, value); }
      input.onchange = onPick;
      list.appendChild(el("label", { "for": id, className: "choice" },
        [input, el("span", { text: opts[k].label !== undefined ? String(opts[k].label) : value })]));
    }
    return list;
  }

  function checkedValues(container, type) {
    var inputs = container.getElementsByTagName("input"), out = [];
    for (var k = 0; k < inputs.length; k++) { if (inputs[k].type === type && inputs[k].checked) { out.push(inputs[k].value); } }
    return out;
  }

  function hint(text) { return el("div", { className: "hint", text: text }); }

  function renderInput(item) {
    var code = item.code, cons = item.constraints || {}, current = valueOf(code);
    var name = "ans-" + code;
    var box = el("div", { className: "answer" });
    var t = item.type;
    if (t === "single" || t === "true_false" || t === "likert") {
      box.appendChild(choiceList(item, "radio", name, current, function () { setAnswer(code, this.value); }));
    } else if (t === "multiple") {
      var list = choiceList(item, "checkbox", name, current, function () {
        var picks = checkedValues(list, "checkbox");
        if (cons.max_choices && picks.length > Number(cons.max_choices)) { this.checked = false; return; }
        setAnswer(code, picks);
      });
      box.appendChild(list);
      if (cons.max_choices) { box.appendChild(hint(fmt(L.max_choices_hint, { n: cons.max_choices }))); }
    } else if (t === "numeric") {
      var num = el("input", { type: "text", inputmode: "decimal", id: name, autocomplete: "off",
                              className: "num", "aria-label": item.stem });
      num.value = current === null || current === undefined ? "" : String(current);
      var check = function () {
        var text = num.value.replace(/^\s+|\s+$/g, ""), x = Number(text), ok = true;
        if (text !== "") {
          ok = /^-?\d+(\.\d+)?$/.test(text) && !isNaN(x);
          if (ok && cons.min !== undefined && x < Number(cons.min)) { ok = false; }
          if (ok && cons.max !== undefined && x > Number(cons.max)) { ok = false; }
          if (ok && cons.decimals !== undefined && text.indexOf(".") >= 0 &&
              text.split(".")[1].length > Number(cons.decimals)) { ok = false; }
        }
        num.setAttribute("aria-invalid", ok ? "false" : "true");
        return text;
      };
      check();
      num.oninput = function () { setAnswer(code, check()); };
      box.appendChild(num);
      if (cons.min !== undefined && cons.max !== undefined) {
        box.appendChild(hint(fmt(L.range_hint, { min: cons.min, max: cons.max }) +
          (cons.decimals ? "，" + fmt(L.decimals_hint, { n: cons.decimals }) : "")));
      }
    } else if (t === "text") {
      var area = el("textarea", { id: name, rows: "4", "aria-label": item.stem });
      if (cons.max_length) { area.setAttribute("maxlength", String(cons.max_length)); }
      area.value = current || "";
      area.oninput = function () { setAnswer(code, area.value); };
      box.appendChild(area);
      if (cons.max_length) { box.appendChild(hint(fmt(L.max_length_hint, { n: cons.max_length }))); }
    } else if (t === "single_text") {
      var cur = current && typeof current === "object" ? current : { choice: null, text: "" };
      var other = el("input", { type: "text", id: name + "-text", "aria-label": L.other, placeholder: L.other });
      if (cons.max_length) { other.setAttribute("maxlength", String(cons.max_length)); }
      other.value = cur.text || "";
      // The text belongs to one option (constraints.text_option); it is open only while that option is chosen.
      var textOption = cons.text_option !== undefined && cons.text_option !== null ? String(cons.text_option) : null;
      var syncOther = function (choice) {
        other.disabled = textOption !== null && String(choice) !== textOption;
      };
      var radios = choiceList(item, "radio", name, cur.choice, function () {
        syncOther(this.value);
        setAnswer(code, { choice: this.value, text: other.disabled ? "" : other.value });
      });
      syncOther(cur.choice);
      other.oninput = function () {
        var picked = checkedValues(radios, "radio");
        setAnswer(code, { choice: picked.length ? picked[0] : null, text: other.value });
      };
      box.appendChild(radios);
      box.appendChild(other);
    } else if (t === "matrix") {
      box.appendChild(renderMatrix(item, current));
    } else if (t === "ranking") {
      box.appendChild(renderRanking(item, current));
    } else if (t === "slider") {
      var min = cons.min !== undefined ? Number(cons.min) : 0, max = cons.max !== undefined ? Number(cons.max) : 100;
      var step = cons.decimals ? Math.pow(10, -Number(cons.decimals)) : 1;
      var range = el("input", { type: "range", id: name, min: String(min), max: String(max), step: String(step),
                                "aria-label": item.stem });
      var shown = el("output", { "for": name, className: "slider-value" });
      range.value = current === null || current === undefined ? String(min) : String(current);
      shown.textContent = current === null || current === undefined ? "—" : String(current);
      var pick = function () { shown.textContent = range.value; setAnswer(code, Number(range.value)); };
      range.oninput = pick;
      range.onchange = pick;
      box.appendChild(el("div", { className: "slider" }, [el("span", { text: String(min) }), range,
        el("span", { text: String(max) })]));
      box.appendChild(el("div", { className: "hint" }, [document.createTextNode(L.value + "："), shown]));
    } else if (t === "open" && window.NAEQ_PERF && window.NAEQ_PERF.recorded(item)) {
      box.appendChild(window.NAEQ_PERF.recorder(item)); // hook (issue 9): a recorded singing/speaking task
    } else if (t === "open") {
      box.appendChild(el("p", { className: "paper", text: L.paper }));
    }
    return box;
  }

  function renderMatrix(item, current) {
    var code = item.code, rows = rowList(item), opts = item.options || [];
    var value = current && typeof current === "object" && !(current instanceof Array) ? current : {};
    var head = el("tr", {}, [el("th", {})]);
    for (var k = 0; k < opts.length; k++) { head.appendChild(el("th", { scope: "col", text: String(opts[k].label) })); }
    var body = el("tbody");
    for (var r = 0; r < rows.length; r++) {
      var tr = el("tr", {}, [el("th", { scope: "row", text: rows[r].label })]);
      for (k = 0; k < opts.length; k++) {
        var input = el("input", { type: "radio", name: "ans-" + code + "-" + rows[r].id, value: String(opts[k].value),
                                  "aria-label": rows[r].label + " " + opts[k].label });
        input.checked = value[rows[r].id] !== undefined && String(value[rows[r].id]) === String(opts[k].value);
        input.setAttribute("data-row", rows[r].id);
        input.onchange = function () {
          var next = {}, old = valueOf(code) || {};
          for (var key in old) { if (old.hasOwnProperty(key)) { next[key] = old[key]; } }
          next[this.getAttribute("data-row")] = this.value;
          setAnswer(code, next);
        };
        tr.appendChild(el("td", {}, [el("label", { className: "cell" }, [input])]));
      }
      body.appendChild(tr);
    }
    return el("table", { className: "matrix" }, [el("thead", {}, [head]), body]);
  }

  function renderRanking(item, current) {
    var code = item.code, rows = rowList(item), labels = {}, order = [], k;
    for (k = 0; k < rows.length; k++) { labels[rows[k].id] = rows[k].label; order.push(rows[k].id); }
    if (current instanceof Array && current.length === order.length) { order = current.slice(); }
    var list = el("ol", { className: "ranking" });
    function move(from, to) {
      var next = order.slice();
      var tmp = next[from]; next[from] = next[to]; next[to] = tmp;
      order = next;
      setAnswer(code, next);
      draw(to);
    }
    function draw(focusIndex) {
      list.innerHTML = "";
      for (var n = 0; n < order.length; n++) {
        var up = el("button", { type: "button", className: "btn small", text: L.up, "aria-label": L.up + " " + labels[order[n]] });
        var down = el("button", { type: "button", className: "btn small", text: L.down, "aria-label": L.down + " " + labels[order[n]] });
        up.disabled = n === 0;
        down.disabled = n === order.length - 1;
        up.onclick = (function (p) { return function () { move(p, p - 1); }; }(n));
        down.onclick = (function (p) { return function () { move(p, p + 1); }; }(n));
        list.appendChild(el("li", { "data-row": order[n] }, [el("span", { className: "rank-label", text: labels[order[n]] }), up, down]));
      }
      if (focusIndex !== undefined && list.childNodes[focusIndex]) {
        var buttons = list.childNodes[focusIndex].getElementsByTagName("button");
        if (buttons.length) { buttons[0].disabled ? buttons[1].focus() : buttons[0].focus(); }
      }
    }
    draw();
    return list;
  }

  function questionNumber(code) {
    var n = 0;
    for (var k = 0; k < itemOrder.length; k++) {
      if (visibleItems[itemOrder[k]]) { n += 1; }
      if (itemOrder[k] === code) { return n; }
    }
    return n;
  }

  function renderItem(item) {
    var code = item.code;
    var flag = el("button", { type: "button", className: "btn flag", "aria-pressed": state.flags[code] ? "true" : "false" });
    flag.textContent = state.flags[code] ? L.flagged : L.flag;
    flag.onclick = function () {
      if (state.flags[code]) { delete state.flags[code]; } else { state.flags[code] = true; }
      persist();
      flag.setAttribute("aria-pressed", state.flags[code] ? "true" : "false");
      flag.textContent = state.flags[code] ? L.flagged : L.flag;
      renderIndex();
    };
    var head = el("div", { className: "item-head" }, [
      el("span", { className: "qno", "data-qno": code }),
      el("span", { className: "item-state", "data-item-state": code }),
      flag
    ]);
    var stem = el("div", { className: "stem", text: item.stem });
    var nodes = [head, stem];
    var media = mediaNodes(item.media, "item", code);
    for (var k = 0; k < media.length; k++) { nodes.push(media[k]); }
    nodes.push(renderInput(item));
    return el("section", { className: "item", "data-item": code, id: "item-" + code }, nodes);
  }

  function currentIndex() {
    for (var k = 0; k < visiblePages.length; k++) { if (visiblePages[k] === state.page) { return k; } }
    return -1;
  }

  function renderPage(focus) {
    if (net.done) { return; }
    if (currentIndex() < 0) { state.page = visiblePages.length ? visiblePages[0] : null; }
    var main = $("take-main");
    main.innerHTML = "";
    var page = pageByName[state.page];
    if (!page) { return; }
    for (var k = 0; k < page.stimuli.length; k++) {
      var s = page.stimuli[k];
      var nodes = [];
      if (s.title) { nodes.push(el("h2", { text: s.title })); }
      if (s.body) { nodes.push(el("div", { className: "stimulus-body", text: s.body })); }
      var media = mediaNodes(s.media, "stimulus", s.code);
      for (var m = 0; m < media.length; m++) { nodes.push(media[m]); }
      main.appendChild(el("section", { className: "stimulus", "data-stimulus": s.code }, nodes));
    }
    for (k = 0; k < page.items.length; k++) { main.appendChild(renderItem(page.items[k])); }
    applyVisibility();
    refreshStates();
    if (focus) { main.focus(); }
  }

  function applyVisibility() {
    var nodes = $("take-main").querySelectorAll("[data-item]");
    for (var k = 0; k < nodes.length; k++) {
      var code = nodes[k].getAttribute("data-item");
      nodes[k].hidden = !visibleItems[code];
    }
    var numbers = $("take-main").querySelectorAll("[data-qno]");
    for (k = 0; k < numbers.length; k++) {
      numbers[k].textContent = fmt(L.question, { n: questionNumber(numbers[k].getAttribute("data-qno")) });
    }
    var idx = currentIndex();
    $("take-pageno").textContent = fmt(L.page, { n: idx + 1 }) + " / " + fmt(L.of, { n: visiblePages.length });
    $("take-prev").disabled = idx <= 0;
    $("take-next").disabled = idx < 0 || idx >= visiblePages.length - 1;
  }

  function renderIndex() {
    var nav = $("take-index");
    if (net.done) { return; }
    nav.innerHTML = "";
    nav.appendChild(el("h2", { text: L.index }));
    var list = el("div", { className: "index-grid" });
    var n = 0;
    for (var p = 0; p < visiblePages.length; p++) {
      var page = pageByName[visiblePages[p]];
      for (var k = 0; k < page.items.length; k++) {
        var code = page.items[k].code;
        if (!visibleItems[code]) { continue; }
        n += 1;
        var answered = items[code].type === "open" || !isBlank(valueOf(code));
        var b = el("button", { type: "button", className: "index-btn", text: String(n), "data-goto": code,
                               title: (answered ? L.answered : L.not_answered) + (state.flags[code] ? " · " + L.flagged : "") });
        toggleClass(b, "answered", answered);
        toggleClass(b, "flagged", !!state.flags[code]);
        toggleClass(b, "current", page.name === state.page);
        toggleClass(b, "pending", itemState(code) !== "saved" && itemState(code) !== "none");
        b.onclick = (function (pname, c) { return function () { goTo(pname, c); }; }(page.name, code));
        list.appendChild(b);
      }
    }
    nav.appendChild(list);
  }

  function goTo(name, code) {
    state.page = name;
    persist();
    renderPage(!code);
    if (code && $("item-" + code)) {
      var target = $("item-" + code).querySelector("input, textarea, button");
      if (target) { target.focus(); }
    }
    window.scrollTo(0, 0);
  }
  function step(delta) {
    var idx = currentIndex() + delta;
    if (idx >= 0 && idx < visiblePages.length) { goTo(visiblePages[idx]); }
  }

  /* ------------------------------------------------------------------------------------------ submit */

  function openSubmitDialog() {
    var unanswered = [], flagged = [];
    for (var k = 0; k < itemOrder.length; k++) {
      var code = itemOrder[k];
      if (!visibleItems[code]) { continue; }
      if (items[code].type !== "open" && isBlank(valueOf(code))) { unanswered.push(fmt(L.question, { n: questionNumber(code) })); }
      if (state.flags[code]) { flagged.push(fmt(L.question, { n: questionNumber(code) })); }
    }
    var lists = $("take-dialog-lists");
    lists.innerHTML = "";
    lists.appendChild(el("p", { className: "dlg-unanswered" }, [el("strong", { text: L.unanswered + "：" }),
      document.createTextNode(unanswered.length ? unanswered.join("、") : L.none)]));
    lists.appendChild(el("p", { className: "dlg-flagged" }, [el("strong", { text: L.flagged_list + "：" }),
      document.createTextNode(flagged.length ? flagged.join("、") : L.none)]));
    $("take-dialog").hidden = false;
    $("take-cancel").focus();
  }
  function confirmSubmit() {
    $("take-dialog").hidden = true;
    state.submitting = true;
    persist();
    $("take-submit").disabled = true;
    if (net.timer) { clearTimeout(net.timer); net.timer = null; }
    if (!net.synced) { tick(); return; }
    sendSubmit();
  }

  /* ------------------------------------------------------------------------------------------ timer */

  /* Time is up. Hook (issue 9): a recording still on its way holds the submission for a bounded time. */
  function autoSubmit() {
    if (window.NAEQ_PERF && window.NAEQ_PERF.holdSubmit) {
      window.NAEQ_PERF.holdSubmit(function () { if (!state.submitting && !net.done) { confirmSubmit(); } });
      return;
    }
    confirmSubmit();
  }

  var timerHandle = null;
  function stopTimer() { if (timerHandle) { clearInterval(timerHandle); timerHandle = null; } }
  function startTimer() {
    if (config.remaining_seconds === null || config.remaining_seconds === undefined) { return; }
    var deadline = now() + config.remaining_seconds * 1000;
    var box = $("take-timer");
    function draw() {
      var left = Math.max(0, Math.round((deadline - now()) / 1000));
      var h = Math.floor(left / 3600), m = Math.floor((left % 3600) / 60), s = left % 60;
      box.textContent = L.time_left + " " + (h ? h + ":" : "") + (m < 10 ? "0" : "") + m + ":" + (s < 10 ? "0" : "") + s;
      toggleClass(box, "low", left <= 300);
      if (left <= 0) {
        stopTimer();
        showAlert(L.time_up);
        if (!state.submitting) { autoSubmit(); }
      }
    }
    draw();
    timerHandle = setInterval(draw, 1000);
  }

  /* ------------------------------------------------------------------------------------------ wiring */

  $("take-prev").onclick = function () { step(-1); };
  $("take-next").onclick = function () { step(1); };
  $("take-submit").onclick = openSubmitDialog;
  $("take-cancel").onclick = function () { $("take-dialog").hidden = true; $("take-submit").focus(); };
  $("take-confirm").onclick = confirmSubmit;
  document.onkeydown = function (e) {
    e = e || window.event;
    if (e.keyCode === 27 && !$("take-dialog").hidden) { $("take-dialog").hidden = true; }
  };
  if (window.addEventListener) {
    window.addEventListener("online", function () { net.offline = false; net.failures = 0; refreshStates(); scheduleSend(0); });
    window.addEventListener("offline", function () { net.offline = true; refreshStates(); });
  }

  computeVisibility();
  renderPage(false);
  startTimer();
  if (state.submitting) { $("take-submit").disabled = true; }
  tick();
}());
