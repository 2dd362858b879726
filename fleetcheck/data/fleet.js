/* fleetcheck: the fleet section of report.html (fleetcheck/report/html.py).
 * Every value comes from the JSON in #fleetcheck-data and reaches the page through
 * textContent or an attribute set with setAttribute: never innerHTML. */
(function () {
  "use strict";
  var PAGE = 100;
  var data = JSON.parse(document.getElementById("fleetcheck-data").textContent);
  var root = document.getElementById("fleetcheck");
  var records = data.records;
  var rank = {};
  data.worst_first.forEach(function (o, i) { rank[o] = i; });
  var filter = {host: "", area: "", outcome: "", severity: "", text: ""};
  var shown = PAGE;
  var matched = records;

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }
  function add(parent, child) { parent.appendChild(child); return child; }
  function cls(outcome) { return "fc-" + outcome; }

  /* --- metadata, totals, gate, waivers, history --------------------------------- */
  function renderHead() {
    if (data.incomplete) {
      add(root, el("p", {"class": "fc-failed fc-note", id: "fc-incomplete"}, data.incomplete));
    }
    (data.inventory_notes || []).forEach(function (note) {
      add(root, el("p", {"class": "fc-failed fc-note", id: "fc-inventory-note"}, note));
    });
    var meta = add(root, el("table", {"class": "fc-meta", id: "fc-meta"}));
    [["run", "run"], ["started", "when"], ["user", "who"], ["inventory", "inventory"],
     ["limit", "--limit"], ["where", "--where"], ["offline", "offline hosts"],
     ["remediate", "remediate"], ["fail_on", "--fail-on"],
     ["duration", "duration (s)"], ["hosts", "hosts"], ["records", "records"],
     ["version", "fleetcheck"]].forEach(function (kv) {
      var tr = add(meta, el("tr"));
      add(tr, el("th", null, kv[1]));
      add(tr, el("td", {"data-meta": kv[0]}, data.meta[kv[0]]));
    });

    var totals = add(root, el("table", {"class": "fc-totals", id: "fc-totals"}));
    var head = add(totals, el("tr"));
    add(head, el("th", null, "severity"));
    data.outcomes.forEach(function (o) { add(head, el("th", {"class": cls(o)}, o)); });
    add(head, el("th", null, "all"));
    var bySev = {}, total = {};
    records.forEach(function (r) {
      bySev[r.s] = bySev[r.s] || {};
      bySev[r.s][r.o] = (bySev[r.s][r.o] || 0) + 1;
      total[r.o] = (total[r.o] || 0) + 1;
    });
    data.severities.concat(["all"]).forEach(function (sev) {
      var counts = sev === "all" ? total : (bySev[sev] || {});
      var tr = add(totals, el("tr", {"data-severity": sev}));
      add(tr, el("th", null, sev));
      var sum = 0;
      data.outcomes.forEach(function (o) {
        sum += counts[o] || 0;
        var td = add(tr, el("td", {"data-outcome": o}, counts[o] || 0));
        if (counts[o]) {
          td.className = "fc-click";
          td.addEventListener("click", function () {
            setFilter({outcome: o, severity: sev === "all" ? "" : sev, host: "", area: ""});
          });
        }
      });
      add(tr, el("td", {"data-outcome": "all"}, sum));
    });

    if (data.gate) {
      var g = data.gate;
      var text = "Gate (--fail-on " + g.fail_on + (g.allow_unreachable ? ", --allow-unreachable" : "") +
        "): " + g.failing + " failing, " + g.tolerated + " tolerated -> " +
        (g.exit_code ? "FAIL (exit 1)" : "pass (exit 0)");
      add(root, el("p", {id: "fc-gate", "class": g.exit_code ? "fc-failed" : "fc-passed"}, text));
    }
    renderHistory();
    renderWaivers();
    renderConnections();
  }

  /* How each host is reached (never secrets): user, port, key file, jump host, become. */
  function renderConnections() {
    var names = Object.keys(data.connections || {});
    if (!names.length) { return; }
    var cols = ["connection", "address", "port", "user", "key_file", "proxy_jump", "become",
                "become_method", "become_user", "command_timeout", "connect_timeout"];
    var box = add(root, el("details", {id: "fc-connections"}));
    add(box, el("summary", null, "connections (" + names.length + " hosts)"));
    var table = add(box, el("table", {"class": "fc-meta"}));
    var head = add(table, el("tr"));
    add(head, el("th", null, "host"));
    cols.forEach(function (c) { add(head, el("th", null, c)); });
    names.forEach(function (name) {
      var tr = add(table, el("tr", {"data-host": name}));
      add(tr, el("th", null, name));
      cols.forEach(function (c) {
        var v = data.connections[name][c];
        add(tr, el("td", {"data-col": c}, v === undefined ? "" : v));
      });
    });
  }

  function renderList(parent, title, items, fmt) {
    if (!items || !items.length) { return; }
    var details = add(parent, el("details", {open: ""}));
    add(details, el("summary", null, title + " (" + items.length + ")"));
    var ul = add(details, el("ul"));
    items.slice(0, 500).forEach(function (it) { add(ul, el("li", null, fmt(it))); });
    if (items.length > 500) { add(ul, el("li", null, "... " + (items.length - 500) + " more")); }
  }

  function renderHistory() {
    var h = data.history;
    var box = add(root, el("div", {id: "fc-history"}));
    if (!h || !h.previous_run) {
      add(box, el("p", null, "Change since the previous run: no previous run of this inventory and selection."));
      return;
    }
    add(box, el("p", null, "Change since the previous run " + h.previous_run + ": " +
      h.new_failures.length + " new failures, " + h.resolved.length + " resolved, " +
      h.still_failing.length + " still failing" +
      (h.common_records_only ? " (of the records both runs have)." : ".")));
    function f(r) { return r.host + "  " + r.check_id + (r.item ? "[" + r.item + "]" : "") + "  " + r.outcome; }
    renderList(box, "New failures", h.new_failures, f);
    renderList(box, "Resolved", h.resolved, f);
    renderList(box, "Still failing", h.still_failing, f);
  }

  function renderWaivers() {
    var w = data.waivers;
    if (!w || !w.declared.length) { return; }
    var box = add(root, el("div", {id: "fc-waivers"}));
    function f(x) {
      return x.check + " on " + x.hosts + " until " + x.expires + " (" + (x.owner || "no owner") + "): " + x.reason;
    }
    renderList(box, "Waivers", w.declared, f);
    if (w.stale_judged === false) {
      add(box, el("p", null, "Stale waivers are not judged: the run is incomplete."));
    } else {
      renderList(box, "Stale waivers (match nothing in this run)", w.stale, f);
    }
    renderList(box, "Expired waivers that matched a finding (no longer applied)", w.expired_matching, f);
  }

  /* --- host x area grid ----------------------------------------------------------- */
  /* Drawn into the summary's #fc-grid-slot, just below the verdict (the slot's
   * <noscript> has the plain one); into the fleet section when there is no slot. */
  function renderGrid() {
    var at = document.getElementById("fc-grid-slot") || root;
    var title = add(at, el("h3", null, "Hosts x areas (click a cell to filter)"));
    var cells = {};
    records.forEach(function (r) {
      var key = r.h + "\u0000" + r.a;
      var c = cells[key] || (cells[key] = {worst: r.o, counts: {}});
      c.counts[r.o] = (c.counts[r.o] || 0) + 1;
      if (rank[r.o] < rank[c.worst]) { c.worst = r.o; }
    });
    var wrap = add(at, el("div", {"class": "fc-gridwrap"}));
    var table = add(wrap, el("table", {"class": "fc-grid", id: "fc-grid"}));
    var head = add(table, el("tr"));
    add(head, el("th", null, "host"));
    data.areas.forEach(function (a) { add(head, el("th", null, a)); });
    data.hosts.forEach(function (h) {
      var tr = add(table, el("tr"));
      var th = add(tr, el("th", {"class": "fc-click fc-hostlink", "data-host": h}));
      add(th, el("a", {href: "#host=" + encodeURIComponent(h),
        title: "this host alone: its records, connection, facts and history"}, h));
      th.addEventListener("click", function (ev) {
        ev.preventDefault();   // the link's own jump would add a second history entry
        setFilter({host: h, area: ""});
      });
      data.areas.forEach(function (a) {
        var c = cells[h + "\u0000" + a];
        if (!c) { add(tr, el("td", {"class": "fc-none"}, "")); return; }
        var label = data.worst_first.filter(function (o) { return c.counts[o]; })
          .map(function (o) { return c.counts[o] + " " + o; }).join(", ");
        var td = add(tr, el("td", {"class": "fc-cell fc-click " + cls(c.worst),
          "data-host": h, "data-area": a, "data-worst": c.worst, title: label}, label));
        td.addEventListener("click", function () { setFilter({host: h, area: a, outcome: "", severity: ""}); });
      });
    });
    return at === root ? [] : [title, wrap];
  }

  /* --- filters and the records table --------------------------------------------- */
  var controls = {}, tbody, status, more;

  function select(name, values, label) {
    var s = el("select", {id: "fc-filter-" + name, "aria-label": label});
    add(s, el("option", {value: ""}, "all " + label));
    values.forEach(function (v) { add(s, el("option", {value: v}, v)); });
    s.addEventListener("change", function () {
      var newView = name === "host" && filter.host !== s.value;
      filter[name] = s.value;
      apply(newView);
    });
    controls[name] = s;
    return s;
  }

  function renderTable() {
    add(root, el("h3", null, "Records"));
    var bar = add(root, el("div", {"class": "fc-filters"}));
    add(bar, select("host", data.hosts, "hosts"));
    add(bar, select("area", data.areas, "areas"));
    add(bar, select("outcome", data.outcomes, "outcomes"));
    add(bar, select("severity", data.severities, "severities"));
    var search = add(bar, el("input", {id: "fc-filter-text", type: "search", placeholder: "search check, message"}));
    search.addEventListener("input", function () { filter.text = search.value.toLowerCase(); apply(); });
    controls.text = search;
    var reset = add(bar, el("button", {id: "fc-reset", type: "button"}, "reset"));
    reset.addEventListener("click", function () { setFilter({host: "", area: "", outcome: "", severity: "", text: ""}); });
    status = add(root, el("p", {id: "fc-status"}));
    var table = add(root, el("table", {"class": "fc-records", id: "fc-records"}));
    var head = add(table, el("thead"));
    var tr = add(head, el("tr"));
    ["host", "check", "severity", "title", "outcome", "message", "duration"].forEach(function (h) {
      add(tr, el("th", null, h));
    });
    tbody = add(table, el("tbody"));
    if (data.trimmed) {
      add(root, el("p", {id: "fc-trimmed"}, "This run has more than 2000 tests: the pytest-html table " +
        "below lists only the records that are not passed or not-applicable; this table has them all."));
    }
    more = add(root, el("button", {id: "fc-more", type: "button"}, "show more"));
    more.addEventListener("click", function () { shown += PAGE * 5; draw(); });
  }

  function setFilter(values) {
    var before = filter.host;
    Object.keys(values).forEach(function (k) {
      filter[k] = values[k];
      if (controls[k]) { controls[k].value = values[k]; }
    });
    apply(filter.host !== before);
    var target = document.getElementById(filter.host ? "fc-hostview" : "fc-records");
    if (target && target.scrollIntoView) { target.scrollIntoView(); }
  }

  function apply(newView) {
    keepInFragment(newView);
    renderHostView();
    var f = filter;
    matched = records.filter(function (r) {
      return (!f.host || r.h === f.host) && (!f.area || r.a === f.area) &&
        (!f.outcome || r.o === f.outcome) && (!f.severity || r.s === f.severity) &&
        (!f.text || (r.c + " " + r.t + " " + r.m + " " + r.i).toLowerCase().indexOf(f.text) >= 0);
    });
    shown = PAGE;
    draw();
  }

  function detail(r) {
    var td = el("td", {colspan: "7", "class": "fc-detail"});
    if (r.w) {
      add(td, el("p", {"class": "fc-waiver"}, (r.w.expired ? "Expired waiver (no longer applies): " : "Waived: ") +
        r.w.reason + " - owner " + (r.w.owner || "none") + ", expires " + r.w.expires +
        " (check " + r.w.check + ", hosts " + r.w.hosts + ")"));
    }
    if (r.m) { add(td, el("pre", {"class": "fc-message"}, r.m)); }
    var check = (data.checks || {})[r.c];
    if (check && check.description) {
      add(td, el("p", {"class": "fc-description"}, check.description));
    }
    if (r.adv) {
      var advice = add(td, el("p", {"class": "fc-advice"}));
      add(advice, el("strong", null, "Advice: "));
      advice.appendChild(document.createTextNode(r.adv));
    }
    if (r.x && r.x.length) { add(td, evidenceTable(r)); }
    if (r.pv) { renderPlan(td, r); }
    if (r.e || r.p) {
      var raw = add(td, el("details", {"class": "fc-raw"}));
      add(raw, el("summary", null, "raw JSON (evidence" + (r.p ? " and plan" : "") + ")"));
      var pre = add(raw, el("pre", {"class": "fc-evidence"}));
      raw.addEventListener("toggle", function () {   // written when first opened
        if (raw.open && !pre.textContent) {
          pre.textContent = JSON.stringify({evidence: r.e || {}, plan: r.p || null}, null, 2);
        }
      });
    }
    return td;
  }

  /* Evidence as label / expected / actual / verdict (fleetcheck.report.details). */
  function evidenceTable(r) {
    var table = el("table", {"class": "fc-evtable"});
    add(table, el("caption", null, "Evidence"));
    var head = add(table, el("tr"));
    ["", "expected", "actual", "verdict"].forEach(function (h) { add(head, el("th", {scope: "col"}, h)); });
    r.x.forEach(function (row) {
      var tr = add(table, el("tr"));
      add(tr, el("th", {scope: "row"}, row[0]));
      add(tr, el("td", {"class": row[1] ? "fc-expected" : "fc-expected fc-absent"}, row[1] || "\u2014"));
      add(tr, el("td", {"class": row[2] ? "fc-actual" : "fc-actual fc-absent"}, row[2] || "\u2014"));
      var verdict = row[3];
      add(tr, el("td", {"class": "fc-verdict" + (verdict === "as expected" ? " fc-passed" :
        verdict ? " " + cls(verdict) : "")}, verdict));
    });
    return table;
  }

  /* A plan: its actions in words, then each file's unified diff, +/- kept. */
  function renderPlan(td, r) {
    var pv = r.pv;
    add(td, el("h4", null, "Plan" + (pv.status ? " (" + pv.status + ")" : "")));
    if (pv.summary) { add(td, el("p", {"class": "fc-plan-summary"}, pv.summary)); }
    function actions(list, title) {
      if (!list.length) { return; }
      if (title) { add(td, el("p", null, title)); }
      var ol = add(td, el("ol", {"class": "fc-actions"}));
      list.forEach(function (a) {
        var li = add(ol, el("li", null, a[0]));
        if (a[1] && a[1] !== a[0]) { add(li, el("code", {"class": "fc-action-detail"}, a[1])); }
      });
    }
    actions(pv.actions, "");
    actions(pv.on_rollback, "After a rollback:");
    pv.notes.forEach(function (n) { add(td, el("p", {"class": "fc-plan-note"}, n)); });
    var diffs = (r.p && r.p.diffs) || {};
    Object.keys(diffs).forEach(function (path) {
      add(td, el("p", {"class": "fc-diff-path"}, "diff of " + path));
      var pre = add(td, el("pre", {"class": "fc-diff"}));
      String(diffs[path]).split("\n").forEach(function (line, i, all) {
        if (i === all.length - 1 && line === "") { return; }
        var kind = /^(\+\+\+|---) /.test(line) ? "fc-file" : line[0] === "+" ? "fc-add" :
          line[0] === "-" ? "fc-del" : line.slice(0, 2) === "@@" ? "fc-hunk" : "fc-ctx";
        add(pre, el("span", {"class": kind}, line + "\n"));
      });
    });
  }

  /* --- the host view: #host=NAME ------------------------------------------------- */
  var hostview, fleetParts = [];

  function renderHostView() {
    var name = filter.host;
    root.setAttribute("data-view", name ? "host" : "fleet");
    fleetParts.forEach(function (node) { node.hidden = !!name; });
    if (!hostview) { return; }
    hostview.textContent = "";
    hostview.hidden = !name;
    if (!name) { return; }
    add(hostview, el("h3", {id: "fc-host-title"}, "Host " + name));
    var back = add(hostview, el("a", {href: "#", id: "fc-back"}, "\u2190 back to the fleet"));
    back.addEventListener("click", function (ev) {
      ev.preventDefault();
      setFilter({host: "", area: ""});
    });
    if (data.hosts.indexOf(name) < 0) {
      add(hostview, el("p", {"class": "fc-note"}, "This run has no records of a host of that name."));
      return;
    }
    var counts = {};
    records.forEach(function (r) { if (r.h === name) { counts[r.o] = (counts[r.o] || 0) + 1; } });
    add(hostview, el("p", {id: "fc-host-counts"}, data.worst_first.filter(function (o) { return counts[o]; })
      .map(function (o) { return counts[o] + " " + o; }).join(", ")));
    var facts = (data.host_facts || {})[name];
    var ftable = add(hostview, el("table", {"class": "fc-meta", id: "fc-host-facts"}));
    add(ftable, el("caption", null, "Facts"));
    if (facts) {
      [["kernel", "kernel release"], ["distribution", "distribution"], ["uptime", "up for"]].forEach(function (kv) {
        var tr = add(ftable, el("tr"));
        add(tr, el("th", {scope: "row"}, kv[1]));
        add(tr, el("td", {"data-fact": kv[0]}, facts[kv[0]] || "unknown"));
      });
    } else {
      add(add(ftable, el("tr")), el("td", null, counts.unreachable ?
        "not gathered: the host was unreachable" : "not gathered in this run"));
    }
    var conn = (data.connections || {})[name];
    if (conn) {
      var ctable = add(hostview, el("table", {"class": "fc-meta", id: "fc-host-connection"}));
      add(ctable, el("caption", null, "Connection"));
      Object.keys(conn).forEach(function (k) {
        var tr = add(ctable, el("tr"));
        add(tr, el("th", {scope: "row"}, k));
        add(tr, el("td", {"data-col": k}, conn[k] === null || conn[k] === undefined ? "" : conn[k]));
      });
    }
    var box = add(hostview, el("div", {id: "fc-host-history"}));
    var h = data.history;
    if (!h || !h.previous_run) {
      add(box, el("p", null, "Change since the previous run: no previous run of this inventory and selection."));
    } else {
      var mine = function (list) { return (list || []).filter(function (x) { return x.host === name; }); };
      var fresh = mine(h.new_failures), resolved = mine(h.resolved), still = mine(h.still_failing);
      add(box, el("p", null, "Change since the previous run " + h.previous_run + ": " + fresh.length +
        " new failures, " + resolved.length + " resolved, " + still.length + " still failing."));
      var f = function (x) { return x.check_id + (x.item ? "[" + x.item + "]" : "") + "  " + x.outcome; };
      renderList(box, "New failures", fresh, f);
      renderList(box, "Resolved", resolved, f);
      renderList(box, "Still failing", still, f);
    }
  }

  /* The filter in the URL fragment (#host=web1&outcome=failed), so a view can be linked
   * and reloaded; a new host view is a history entry (the browser's back returns). */
  var FRAGMENT = ["host", "area", "outcome", "severity", "text"];

  function keepInFragment(newEntry) {
    var parts = [];
    FRAGMENT.forEach(function (k) {
      if (filter[k]) { parts.push(k + "=" + encodeURIComponent(filter[k])); }
    });
    var hash = parts.length ? "#" + parts.join("&") : "";
    if (hash === location.hash || (!hash && !location.hash)) { return; }
    var url = location.pathname + location.search + (hash || "#");
    try {
      if (newEntry) { history.pushState(null, "", url); } else { history.replaceState(null, "", url); }
    } catch (e) { /* a page opened where history cannot be written: the view still works */ }
  }

  function fromFragment() {
    var values = {host: "", area: "", outcome: "", severity: "", text: ""};
    location.hash.replace(/^#/, "").split("&").forEach(function (part) {
      var at = part.indexOf("=");
      if (at < 1) { return; }
      var key = part.slice(0, at), value;
      try { value = decodeURIComponent(part.slice(at + 1).replace(/\+/g, " ")); } catch (e) { return; }
      if (FRAGMENT.indexOf(key) >= 0) { values[key] = value; }
    });
    return values;
  }

  function applyFragment() {
    var values = fromFragment();
    Object.keys(values).forEach(function (k) {
      filter[k] = k === "text" ? values[k].toLowerCase() : values[k];
      if (controls[k]) { controls[k].value = values[k]; }
    });
    apply(false);
  }

  function draw() {
    var frag = document.createDocumentFragment();
    matched.slice(0, shown).forEach(function (r) {
      var tr = el("tr", {"class": "fc-row " + cls(r.o), "data-outcome": r.o});
      add(tr, el("td", null, r.h));
      add(tr, el("td", null, r.c + (r.i ? "[" + r.i + "]" : "")));
      add(tr, el("td", null, r.s));
      add(tr, el("td", null, r.t));
      add(tr, el("td", {"class": "fc-outcome"}, r.o + (r.w && r.w.expired ? " (waiver expired)" : "")));
      add(tr, el("td", {"class": "fc-msg"}, r.m));
      add(tr, el("td", null, Number(r.d).toFixed(3)));
      var open = null;
      tr.addEventListener("click", function () {
        if (open) { open.parentNode.removeChild(open); open = null; return; }
        open = el("tr", {"class": "fc-detailrow"});
        add(open, detail(r));
        tr.parentNode.insertBefore(open, tr.nextSibling);
      });
      frag.appendChild(tr);
    });
    tbody.textContent = "";
    tbody.appendChild(frag);
    status.textContent = matched.length + " of " + records.length + " records" +
      (matched.length > shown ? " (showing " + shown + ")" : "");
    more.style.display = matched.length > shown ? "" : "none";
  }

  add(root, el("h2", null, "Fleet"));
  var gridParts = renderGrid();
  renderHead();
  // what the host view hides: all but the heading, and the grid in the summary
  fleetParts = Array.prototype.slice.call(root.children, 1).concat(gridParts);
  hostview = add(root, el("section", {id: "fc-hostview", "class": "fc-hostview", hidden: ""}));
  renderTable();
  applyFragment();
  window.addEventListener("popstate", applyFragment);
  window.addEventListener("hashchange", applyFragment);
  if (filter.host && hostview.scrollIntoView) { hostview.scrollIntoView(); }
  root.setAttribute("data-ready", "1");
})();
