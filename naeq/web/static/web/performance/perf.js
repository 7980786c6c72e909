/* naeq take page, issue 9: listening items and recorded singing/speaking tasks (docs/performance.md).
 *
 * Loaded before take.js, which calls three hooks: NAEQ_PERF.audio(media, ownerKind, ownerCode) for every audio
 * (a counted play button instead of a plain player), NAEQ_PERF.recorded(item) / recorder(item) for an open item
 * whose constraints.record is "speaking" or "singing".
 *
 * - Before the test: every audio of the booklet is fetched into memory (a progress bar; a slow network delays
 *   only this screen, never a play), then the headset check (a test tone made by WebAudio, the student confirms;
 *   the result goes to the server for the proctor). Counting happens at play, never at preload.
 * - A play asks the server first (POST play); the server counts and refuses beyond the item's play_limit.
 * - A recording is kept in IndexedDB from the moment it stops until the server has acknowledged the complete,
 *   SHA-256-verified file; it is uploaded in chunks from the offset the server reports, so a network cut or a
 *   reload resumes where it stopped.
 * - The timer's automatic submission waits (holdSubmit) while a take is being recorded or uploaded, showing
 *   "录音还在上传…", and submits as soon as the uploads are complete, or after HOLD_MS at the latest (counted from
 *   the first hold, across reloads); a take still on its way stays in IndexedDB and keeps uploading after the
 *   submission (the server accepts it), on the finished view of this page or on the finished page.
 * - The finished page (no #take-content, #perf-finished-config instead) runs only the uploader: takes of the
 *   attempt still in IndexedDB are uploaded, with a line 录音上传中 / 录音已全部上传 (#perf-upload-line).
 * All words come from the page (#perf-labels), none are in this script.
 */
(function () {
  "use strict";

  var CHUNK = window.NAEQ_PERF_CHUNK || 65536;   // a test may make it smaller
  var BACKOFF_MIN_MS = 1000, BACKOFF_MAX_MS = 15000;
  var TEST_SECONDS = 3;
  var HOLD_MS = window.NAEQ_PERF_HOLD_MS || 60000;   // the longest the automatic submission waits for uploads
  var MIME = "audio/webm;codecs=opus";

  function $(id) { return document.getElementById(id); }
  var labelsNode = $("perf-labels");
  var FINISHED = !$("take-content");   // the finished page: only the uploader runs
  if (FINISHED && !$("perf-finished-config")) { return; }
  var content = FINISHED ? { pages: [] } : JSON.parse($("take-content").textContent);
  var config = JSON.parse($(FINISHED ? "perf-finished-config" : "take-config").textContent);
  var API = "/t/api/perf/attempts/" + config.attempt + "/";
  var L = {};
  (function () {
    var attrs = labelsNode.attributes;
    for (var k = 0; k < attrs.length; k++) {
      var a = attrs[k].name;
      if (a.indexOf("data-") === 0) {
        L[a.slice(5).replace(/-([a-z])/g, function (m, c) { return c.toUpperCase(); })] = attrs[k].value;
      }
    }
  }());
  function fmt(text, values) {
    return String(text).replace(/\{(\w+)\}/g, function (m, name) { return values[name] !== undefined ? values[name] : m; });
  }
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    for (var k in (attrs || {})) {
      if (k === "text") { node.textContent = attrs[k]; }
      else if (k === "className") { node.className = attrs[k]; }
      else { node.setAttribute(k, attrs[k]); }
    }
    for (var c = 0; children && c < children.length; c++) { node.appendChild(children[c]); }
    return node;
  }

  /* ------------------------------------------------------------------------------------------ the booklet */

  var audios = [];          // [{kind, owner, file, limit}]
  var recordedItems = {};   // code -> item
  var itemByCode = {};
  (function collect() {
    var seen = {};
    function limitOf(value) { return typeof value === "number" && value >= 1 && value % 1 === 0 ? value : null; }
    var stimLimits = {};
    for (var p = 0; p < content.pages.length; p++) {
      var page = content.pages[p];
      for (var i = 0; i < page.items.length; i++) {
        var it = page.items[i], cons = it.constraints || {};
        itemByCode[it.code] = it;
        if (it.type === "open" && (cons.record === "speaking" || cons.record === "singing")) { recordedItems[it.code] = it; }
        if (it.stimulus && limitOf(cons.play_limit) !== null) {
          var prev = stimLimits[it.stimulus];
          stimLimits[it.stimulus] = prev === undefined ? cons.play_limit : Math.min(prev, cons.play_limit);
        }
      }
    }
    function add(kind, owner, media, fallback) {
      for (var m = 0; media && m < media.length; m++) {
        if (media[m].kind !== "audio") { continue; }
        var key = kind + ":" + owner + ":" + media[m].file;
        if (seen[key]) { continue; }
        seen[key] = true;
        var own = limitOf(media[m].play_limit);
        audios.push({ kind: kind, owner: owner, file: media[m].file, key: key,
                      limit: own !== null ? own : (fallback === undefined ? null : fallback) });
      }
    }
    for (p = 0; p < content.pages.length; p++) {
      var pg = content.pages[p];
      for (var s = 0; s < pg.stimuli.length; s++) { add("stimulus", pg.stimuli[s].code, pg.stimuli[s].media, stimLimits[pg.stimuli[s].code]); }
      for (i = 0; i < pg.items.length; i++) {
        var item = pg.items[i];
        add("item", item.code, item.media, limitOf((item.constraints || {}).play_limit));
      }
    }
  }());
  var hasRecorded = false;
  for (var rc in recordedItems) { if (recordedItems.hasOwnProperty(rc)) { hasRecorded = true; } }
  if (!FINISHED && !audios.length && !hasRecorded) { return; }   // nothing for us: take.js renders as before

  /* ------------------------------------------------------------------------------------------ requests */

  function request(method, path, body, raw) {
    return new Promise(function (resolve) {
      var xhr = new XMLHttpRequest();
      xhr.open(method, path, true);
      xhr.timeout = 20000;
      xhr.setRequestHeader("X-Attempt-Token", config.token);
      if (raw) { xhr.setRequestHeader("Content-Type", "application/octet-stream"); }
      else if (body !== null && body !== undefined) { xhr.setRequestHeader("Content-Type", "application/json"); }
      xhr.onload = function () {
        var data = null;
        try { data = JSON.parse(xhr.responseText); } catch (e) { data = null; }
        resolve({ status: xhr.status, data: data });
      };
      xhr.onerror = xhr.ontimeout = function () { resolve({ status: 0, data: null }); };
      xhr.send(raw ? body : (body === null || body === undefined ? null : JSON.stringify(body)));
    });
  }
  function wait(ms) { return new Promise(function (r) { setTimeout(r, ms); }); }
  var wakers = [];
  /** Wait ``ms``, or less when the network comes back (the `online` event). */
  function waitOrOnline(ms) {
    return new Promise(function (r) {
      var t = setTimeout(function () { r(); }, ms);
      wakers.push(function () { clearTimeout(t); r(); });
    });
  }
  function backoff(n) { return Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * Math.pow(2, n)) * (0.75 + Math.random() * 0.5); }

  var serverState = { plays: {}, headset: null, recordings: [] };
  var stateReady = (function load(n) {
    return request("GET", API + "state", null).then(function (r) {
      if (r.status === 200 && r.data) { serverState = r.data; return serverState; }
      if (r.status === 404) { return serverState; }
      return wait(backoff(n)).then(function () { return load(n + 1); });
    });
  }(0));

  /* ------------------------------------------------------------------------------------------ preload */

  var blobs = {};   // file -> object URL (memory)
  function fetchAudio(file) {
    return new Promise(function (resolve) {
      var xhr = new XMLHttpRequest();
      xhr.open("GET", config.media + encodeURIComponent(file), true);
      xhr.responseType = "blob";
      xhr.onload = function () { resolve(xhr.status === 200 ? xhr.response : null); };
      xhr.onerror = xhr.ontimeout = function () { resolve(null); };
      xhr.send();
    });
  }
  function preloadAll(onProgress) {
    var files = [], seen = {};
    for (var k = 0; k < audios.length; k++) { if (!seen[audios[k].file]) { seen[audios[k].file] = true; files.push(audios[k].file); } }
    var done = 0;
    onProgress(0, files.length, false);
    function one(file, n) {
      return fetchAudio(file).then(function (blob) {
        if (blob) { blobs[file] = URL.createObjectURL(blob); done += 1; onProgress(done, files.length, false); return; }
        onProgress(done, files.length, true);
        return wait(backoff(n)).then(function () { return one(file, n + 1); });
      });
    }
    var chain = Promise.resolve();
    files.forEach(function (f) { chain = chain.then(function () { return one(f, 0); }); });
    return chain;
  }

  /* ------------------------------------------------------------------------------------------ the gate */

  var audioCtx = null;
  function ctx() {
    if (!audioCtx) { audioCtx = new (window.AudioContext || window.webkitAudioContext)(); }
    if (audioCtx.state === "suspended") { audioCtx.resume(); }
    return audioCtx;
  }
  function tone() {
    var c = ctx(), osc = c.createOscillator(), gain = c.createGain();
    osc.frequency.value = 660;
    gain.gain.value = 0.2;
    osc.connect(gain);
    gain.connect(c.destination);
    osc.start();
    osc.stop(c.currentTime + 1.5);
  }
  function runGate() {
    var gate = $("perf-gate");
    gate.hidden = false;
    $("perf-gate-title").textContent = L.loading;
    var text = gate.querySelector(".perf-preload-text");
    var bar = $("perf-progress");
    return preloadAll(function (n, m, retry) {
      bar.max = Math.max(1, m);
      bar.value = n;
      text.textContent = fmt(L.loaded, { n: n, m: m }) + (retry ? " " + L.loadRetry : "");
    }).then(function () {
      gate.setAttribute("data-preloaded", "true");
      return stateReady;
    }).then(function () {
      if (serverState.headset && serverState.headset.heard) { gate.hidden = true; return; }
      return new Promise(function (resolve) {
        $("perf-preload").hidden = true;
        $("perf-headset").hidden = false;
        $("perf-gate-title").textContent = L.headsetTitle;
        gate.querySelector(".perf-headset-text").textContent = L.headsetText;
        $("perf-tone").textContent = L.tone;
        $("perf-heard").textContent = L.heard;
        $("perf-not-heard").textContent = L.notHeard;
        $("perf-tone").onclick = function () { tone(); $("perf-heard").disabled = false; $("perf-not-heard").disabled = false; };
        function send(heard, n) {
          return request("POST", API + "headset", { heard: heard }).then(function (r) {
            if (r.status === 200 || r.status === 404) { return; }
            return wait(backoff(n)).then(function () { return send(heard, n + 1); });
          });
        }
        $("perf-heard").onclick = function () {
          $("perf-heard").disabled = true;
          send(true, 0).then(function () { gate.hidden = true; resolve(); });
        };
        $("perf-not-heard").onclick = function () {
          $("perf-headset-help").hidden = false;
          $("perf-headset-help").textContent = L.headsetHelp;
          send(false, 0);
        };
      });
    }).then(function () { document.body.setAttribute("data-perf-ready", "true"); });
  }

  /* ------------------------------------------------------------------------------------------ plays */

  var player = null;
  var redraws = [];
  function audioWidget(media, kind, owner) {
    var key = kind + ":" + owner + ":" + media.file, info = null;
    for (var k = 0; k < audios.length; k++) { if (audios[k].key === key) { info = audios[k]; } }
    var limit = info ? info.limit : null;
    var btn = el("button", { type: "button", className: "btn perf-play", text: L.play });
    var count = el("span", { className: "perf-count" });
    var msg = el("span", { className: "perf-msg", role: "status" });
    var box = el("div", { className: "perf-audio", "data-perf-audio": key }, [btn, count, msg]);
    function draw(playing) {
      var n = serverState.plays[key] || 0;
      count.textContent = limit ? fmt(L.played, { n: n, m: limit }) : fmt(L.playedFree, { n: n });
      var exhausted = limit !== null && n >= limit;
      box.setAttribute("data-exhausted", exhausted ? "true" : "false");
      btn.disabled = playing || exhausted;
      btn.textContent = playing ? L.playing : L.play;
    }
    draw(false);
    redraws.push(function () { if (box.isConnected && !btn.disabled) { draw(false); } });
    btn.onclick = function () {
      btn.disabled = true;
      msg.textContent = "";
      request("POST", API + "play", { owner_kind: kind, owner: owner, media: media.file }).then(function (r) {
        if (r.status === 200 && r.data) {
          serverState.plays[key] = r.data.plays;
          if (r.data.limit) { limit = r.data.limit; }
          if (player) { player.pause(); }
          player = new Audio(blobs[media.file] || (config.media + encodeURIComponent(media.file)));
          player.onended = player.onerror = function () { draw(false); };
          draw(true);
          var started = player.play();
          if (started && started.catch) { started.catch(function () { draw(false); }); }
        } else if (r.status === 409 && r.data) {
          serverState.plays[key] = r.data.plays;
          limit = r.data.limit;
          msg.textContent = r.data.message || "";
          draw(false);
        } else {
          msg.textContent = L.playFailed;
          draw(false);
        }
      });
    };
    return box;
  }

  /* ------------------------------------------------------------------------------------------ local store */

  var dbPromise = null;
  function db() {
    if (!dbPromise) {
      dbPromise = new Promise(function (resolve, reject) {
        var open = indexedDB.open("naeq-performance", 1);
        open.onupgradeneeded = function () { open.result.createObjectStore("recordings", { keyPath: "key" }); };
        open.onsuccess = function () { resolve(open.result); };
        open.onerror = function () { reject(open.error); };
      });
    }
    return dbPromise;
  }
  function tx(mode, fn) {
    return db().then(function (d) {
      return new Promise(function (resolve, reject) {
        var t = d.transaction("recordings", mode), store = t.objectStore("recordings"), out = fn(store);
        t.oncomplete = function () { resolve(out && out.result !== undefined ? out.result : undefined); };
        t.onerror = function () { reject(t.error); };
      });
    });
  }
  function localKey(code) { return config.attempt + ":" + code; }
  function keep(rec) { return tx("readwrite", function (s) { return s.put(rec); }); }
  function forget(code) { return tx("readwrite", function (s) { return s["delete"](localKey(code)); }); }
  function pendingLocal() {
    return tx("readonly", function (s) { return s.getAll(); }).then(function (all) {
      return (all || []).filter(function (r) { return r.attempt === config.attempt; });
    });
  }

  function hex(buffer) {
    var bytes = new Uint8Array(buffer), out = "";
    for (var k = 0; k < bytes.length; k++) { out += (bytes[k] < 16 ? "0" : "") + bytes[k].toString(16); }
    return out;
  }
  function readBuffer(blob) {
    if (blob.arrayBuffer) { return blob.arrayBuffer(); }
    return new Promise(function (resolve) { var r = new FileReader(); r.onload = function () { resolve(r.result); }; r.readAsArrayBuffer(blob); });
  }

  /* ------------------------------------------------------------------------------------------ upload */

  var widgets = {};       // code -> {setStatus(state, text)}
  var uploading = {};     // code -> true while a loop runs
  var uploadState = {};   // code -> [state, text]: survives re-rendering of the page
  var stuck = {};         // code -> true: kept locally, the server does not take it now (refused, session over)
  var capturing = 0;      // takes being recorded, hashed and kept (not yet uploading)
  /** Takes still on their way: being recorded or uploading (a refused take waits for the proctor, not counted). */
  function pendingCount() {
    var n = capturing;
    for (var code in uploading) {
      if (uploading.hasOwnProperty(code) && !(uploadState[code] && uploadState[code][0] === "refused")) { n += 1; }
    }
    return n;
  }
  function status(code, state, text) {
    uploadState[code] = [state, text];
    if (state === "refused") { stuck[code] = true; } else if (state !== "kept") { delete stuck[code]; }
    if (widgets[code]) { widgets[code].setStatus(state, text); }
    changed();
  }
  function changed() {
    document.body.setAttribute("data-perf-uploads", String(pendingCount()));
    drawLine();
    if (holdCheck) { holdCheck(); }
  }

  /* The line of the finished view: 录音上传中 / 录音已全部上传 / kept here, call the proctor. */
  var lineShown = FINISHED;
  function drawLine() {
    var line = $("perf-upload-line");
    if (!line || !lineShown) { return; }
    var pending = pendingCount(), state = "";
    if (pending) { state = "uploading"; }
    else if (Object.keys(stuck).length) { state = "stuck"; }
    else if (Object.keys(completed).length) { state = "done"; }
    line.hidden = !state;
    line.setAttribute("data-state", state);
    line.textContent = state === "uploading" ? fmt(L.finUploading, { n: pending }) :
      state === "stuck" ? L.finStuck : state === "done" ? L.finDone : "";
  }

  function upload(rec) {
    if (uploading[rec.item]) { return; }
    uploading[rec.item] = true;
    status(rec.item, "uploading", L.kept);
    var failures = 0;
    function retry() {
      status(rec.item, "retrying", L.retrying);
      var delay = backoff(failures);
      failures += 1;
      return waitOrOnline(delay).then(step);
    }
    function finish() {
      delete uploading[rec.item];
      return forget(rec.item).then(function () {
        completed[rec.item] = true;
        status(rec.item, "done", L.uploaded);
      });
    }
    function send(id, offset) {
      if (offset >= rec.size) {
        return request("POST", API + "recordings/" + id + "/complete", {}).then(function (r) {
          if (r.status === 200) { return finish(); }
          if (r.status === 409 && r.data && typeof r.data.received === "number") {
            return send(id, r.data.received);   // checksum failed (received 0): send it all again
          }
          return retry();
        });
      }
      var part = rec.blob.slice(offset, Math.min(rec.size, offset + CHUNK));
      return request("POST", API + "recordings/" + id + "/chunk?offset=" + offset, part, true).then(function (r) {
        if (r.status === 200 && r.data) { failures = 0; status(rec.item, "uploading", L.kept); return send(id, r.data.received); }
        if (r.status === 409 && r.data && typeof r.data.received === "number") { return send(id, r.data.received); }
        return retry();
      });
    }
    function step() {
      return request("POST", API + "recordings", { item: rec.item, size: rec.size, sha256: rec.sha256, mime: rec.mime,
                                                    duration_ms: rec.duration_ms }).then(function (r) {
        if (r.status === 200 && r.data) {
          if (r.data.status === "complete") { return finish(); }
          return send(r.data.id, r.data.received);
        }
        if (r.status === 409 && r.data && r.data.error === "rerecord_not_allowed") {
          // Kept locally: if the proctor allows a further take, it goes up on a later try.
          status(rec.item, "refused", L.refused);
          return wait(30000).then(step);
        }
        if (r.status === 404) {   // the session is over: keep it locally
          delete uploading[rec.item];
          stuck[rec.item] = true;
          status(rec.item, "kept", L.finStuck);
          return;
        }
        return retry();
      });
    }
    step();
  }

  /* ------------------------------------------------------------------------------------------ recording */

  var completed = {};     // code -> true when the server holds a complete take
  var stream = null, analyser = null;

  function pickMime() {
    if (window.MediaRecorder && MediaRecorder.isTypeSupported) {
      if (MediaRecorder.isTypeSupported(MIME)) { return MIME; }
      if (MediaRecorder.isTypeSupported("audio/ogg;codecs=opus")) { return "audio/ogg;codecs=opus"; }
    }
    return null;
  }
  function record(seconds, onTick) {
    return new Promise(function (resolve) {
      var mime = pickMime(), chunks = [];
      var rec = new MediaRecorder(stream, { mimeType: mime, audioBitsPerSecond: 32000 });
      var started = Date.now(), left = seconds;
      rec.ondataavailable = function (e) { if (e.data && e.data.size) { chunks.push(e.data); } };
      rec.onstop = function () {
        resolve({ blob: new Blob(chunks, { type: mime }), mime: mime, duration_ms: Date.now() - started });
      };
      rec.start(1000);
      onTick(left);
      var timer = setInterval(function () {
        left -= 1;
        onTick(left);
        if (left <= 0) { clearInterval(timer); rec.stop(); }
      }, 1000);
    });
  }
  function meterLoop(bar) {
    var data = new Uint8Array(analyser.fftSize);
    (function frame() {
      if (!bar.isConnected) { return; }
      analyser.getByteTimeDomainData(data);
      var sum = 0;
      for (var k = 0; k < data.length; k++) { var v = (data[k] - 128) / 128; sum += v * v; }
      var rms = Math.sqrt(sum / data.length);
      var pct = Math.min(100, Math.round(rms * 300));
      bar.style.width = pct + "%";
      bar.parentNode.setAttribute("data-level", String(pct));
      requestAnimationFrame(frame);
    }());
  }

  function recorderWidget(item) {
    var code = item.code, cons = item.constraints || {};
    var seconds = typeof cons.record_seconds === "number" ? Math.max(5, Math.min(600, cons.record_seconds)) : 60;
    var statusLine = el("p", { className: "perf-status", role: "status" });
    var clock = el("p", { className: "perf-clock", "aria-live": "polite" });
    var micBtn = el("button", { type: "button", className: "btn perf-mic", text: L.mic });
    var meterBar = el("div");
    var meter = el("div", { className: "perf-meter", "aria-label": L.level, "data-level": "0" }, [meterBar]);
    var testBtn = el("button", { type: "button", className: "btn perf-test", text: L.testRecord });
    var testAudio = el("audio", { controls: "controls", className: "perf-test-audio" });
    var recBtn = el("button", { type: "button", className: "btn btn-submit perf-record", text: L.record });
    var takeAudio = el("audio", { controls: "controls", className: "perf-take-audio" });
    var tools = el("div", { className: "perf-tools" }, [
      el("p", { text: L.level }), meter,
      el("p", {}, [testBtn]), testAudio,
      el("p", {}, [recBtn]), clock, takeAudio]);
    testAudio.hidden = true;
    takeAudio.hidden = true;
    tools.hidden = !stream;
    var box = el("div", { className: "perf-rec", "data-perf-rec": code }, [
      el("p", { className: "perf-kind", text: (cons.record === "singing" ? L.singing : L.speaking) + " · " +
        fmt(L.recordLength, { n: seconds }) }),
      el("p", {}, [micBtn]), tools, statusLine]);
    function setStatus(state, text) {
      statusLine.setAttribute("data-state", state);
      statusLine.textContent = text;
      recBtn.disabled = busy || state === "done" || state === "uploading" || state === "retrying";
      if (state === "done") { micBtn.hidden = true; tools.hidden = true; }   // one take; another needs the proctor
      else if (state === "rerecord") { micBtn.hidden = !!stream; tools.hidden = !stream; }   // the proctor allowed one more
    }
    var busy = false;
    widgets[code] = { setStatus: setStatus };
    if (completed[code]) { setStatus("done", L.done); }
    else if (uploadState[code]) { setStatus(uploadState[code][0], uploadState[code][1]); }
    if (!pickMime() || !navigator.mediaDevices || !window.crypto || !crypto.subtle) {
      micBtn.disabled = true;
      setStatus("denied", L.noRecorder);
      return box;
    }
    function ready() {
      micBtn.hidden = true;
      tools.hidden = statusLine.getAttribute("data-state") === "done";
      meterLoop(meterBar);
    }
    if (stream) { ready(); }
    micBtn.onclick = function () {
      navigator.mediaDevices.getUserMedia({ audio: true }).then(function (s) {
        stream = s;
        var c = ctx(), src = c.createMediaStreamSource(s);
        analyser = c.createAnalyser();
        analyser.fftSize = 1024;
        src.connect(analyser);
        if (!completed[code] && !uploadState[code]) { setStatus("ready", ""); }
        ready();
      }, function () { setStatus("denied", L.micDenied); });
    };
    testBtn.onclick = function () {
      busy = true;
      testBtn.disabled = recBtn.disabled = true;
      record(TEST_SECONDS, function (left) { clock.textContent = fmt(L.recording, { n: left }); }).then(function (r) {
        busy = false;
        clock.textContent = "";
        testAudio.src = URL.createObjectURL(r.blob);
        testAudio.hidden = false;
        testAudio.setAttribute("data-ready", "true");
        testBtn.textContent = L.testRecord;
        testBtn.disabled = false;
        setStatus(statusLine.getAttribute("data-state") || "ready", statusLine.textContent);
      });
    };
    recBtn.onclick = function () {
      busy = true;
      capturing += 1;
      changed();
      testBtn.disabled = recBtn.disabled = true;
      var count = 3;
      clock.textContent = fmt(L.countdown, { n: count });
      var timer = setInterval(function () {
        count -= 1;
        if (count > 0) { clock.textContent = fmt(L.countdown, { n: count }); return; }
        clearInterval(timer);
        record(seconds, function (left) { clock.textContent = fmt(L.recording, { n: left }); }).then(function (r) {
          clock.textContent = "";
          takeAudio.src = URL.createObjectURL(r.blob);
          takeAudio.hidden = false;
          return readBuffer(r.blob).then(function (buf) { return crypto.subtle.digest("SHA-256", buf); }).then(function (d) {
            var rec = { key: localKey(code), attempt: config.attempt, item: code, blob: r.blob, size: r.blob.size,
                        sha256: hex(d), mime: r.mime, duration_ms: r.duration_ms, at: Date.now() };
            // Locally first, then the upload: from here a reload or a crash loses nothing.
            return keep(rec).then(function () {
              busy = false;
              testBtn.disabled = false;
              box.setAttribute("data-sha256", rec.sha256);
              capturing -= 1;
              upload(rec);
              changed();
            });
          });
        });
      }, 1000);
    };
    return box;
  }

  /* ------------------------------------------------------------------------------------------ wiring */

  /* ------------------------------------------------------------------------------------------ submission */

  var holdCheck = null;
  var HOLD_KEY = "naeq.perf.hold." + config.attempt;
  var resumed;   // the takes of this attempt found in IndexedDB at load are uploading (set below)
  function inert(on) {
    var nodes = [$("take-main"), $("take-index"), document.querySelector(".take-nav")];
    for (var k = 0; k < nodes.length; k++) {
      if (!nodes[k]) { continue; }
      if (on) { nodes[k].setAttribute("inert", ""); } else { nodes[k].removeAttribute("inert"); }
    }
  }
  /** The timer's automatic submission: ``go`` runs once no take is on its way, or after HOLD_MS at the latest
   * (counted from the first hold of this attempt, so a reload does not extend it). */
  function holdSubmit(go) {
    if (holdCheck) { return; }
    var started = null;
    try { started = Number(window.localStorage.getItem(HOLD_KEY)) || null; } catch (e) { started = null; }
    if (!started) {
      started = Date.now();
      try { window.localStorage.setItem(HOLD_KEY, String(started)); } catch (e) { /* memory only */ }
    }
    var scanned = false, released = false, timer = null;
    function release(why) {
      if (released) { return; }
      released = true;
      holdCheck = null;
      if (timer) { clearTimeout(timer); }
      inert(false);
      document.body.setAttribute("data-perf-hold", why);
      try { window.localStorage.removeItem(HOLD_KEY); } catch (e) { /* nothing to clear */ }
      go();
    }
    holdCheck = function () {
      if (!scanned) { return; }
      if (!pendingCount()) { release("uploaded"); return; }
      document.body.setAttribute("data-perf-hold", "waiting");
      inert(true);
      var box = $("take-alert");
      if (box) { box.hidden = false; box.textContent = L.waitAuto; }
    };
    timer = setTimeout(function () { release("timeout"); }, Math.max(0, HOLD_MS - (Date.now() - started)));
    resumed.then(function () { scanned = true; if (holdCheck) { holdCheck(); } });
  }

  window.NAEQ_PERF = {
    audio: audioWidget,
    recorded: function (item) { return !!recordedItems[item.code]; },
    recorder: recorderWidget,
    holdSubmit: holdSubmit,
    pending: pendingCount,
    finished: function () { lineShown = true; drawLine(); }   // take.js: the attempt is submitted
  };

  // The proctor's re-record permission (the room screen, docs/performance.md): the server's state names the items
  // that may be recorded once more, with the words to show; while a take is complete the state is asked again
  // every few seconds, so the permission reaches the student's screen without a reload.
  var POLL_MS = window.NAEQ_PERF_POLL || 10000;   // a test may make it shorter
  function applyRerecord(state) {
    var permits = (state && state.rerecord) || {};
    for (var code in permits) {
      if (permits.hasOwnProperty(code) && completed[code] && !uploading[code]) {
        delete completed[code];
        status(code, "rerecord", permits[code].message);
      }
    }
  }
  function pollPermits() {
    setTimeout(function () {
      if (!Object.keys(completed).length) { pollPermits(); return; }
      request("GET", API + "state", null).then(function (r) {
        if (r.status === 200 && r.data) { applyRerecord(r.data); }
        if (r.status !== 404) { pollPermits(); }
      });
    }, POLL_MS);
  }

  resumed = stateReady.then(function () {
    for (var k = 0; k < serverState.recordings.length; k++) {
      var r = serverState.recordings[k];
      if (r.status === "complete") { completed[r.item] = true; status(r.item, "done", L.done); }
    }
    if (!FINISHED) { applyRerecord(serverState); }
    if (hasRecorded) { pollPermits(); }
    // Redraw the play counts the page was rendered with before the server's copy arrived.
    for (k = 0; k < redraws.length; k++) { redraws[k](); }
    return pendingLocal();
  }).then(function (pending) {
    for (var k = 0; k < pending.length; k++) { upload(pending[k]); }
    document.body.setAttribute("data-perf-resumed", String(pending.length));
    changed();
  }, function () { document.body.setAttribute("data-perf-resumed", "0"); changed(); });
  window.addEventListener("online", function () {
    var now = wakers;
    wakers = [];
    for (var k = 0; k < now.length; k++) { now[k](); }
  });
  if (FINISHED) { return; }   // the finished page: no gate, no submit button
  document.addEventListener("DOMContentLoaded", function () { runGate(); });
  // Submitting by hand is held while a take is still on its way (the automatic submission: holdSubmit).
  document.addEventListener("click", function (e) {
    var t = e.target;
    if (!t || (t.id !== "take-submit" && t.id !== "take-confirm")) { return; }
    if (!pendingCount()) { return; }
    e.preventDefault();
    e.stopImmediatePropagation();
    var box = $("take-alert");
    if (box) { box.hidden = false; box.textContent = L.waitUpload; }
  }, true);
}());
