// techkg explorer. Every string in the data came from documents: it is shown with
// textContent / createElement only, never parsed as HTML.
(function () {
  "use strict";

  var payload = JSON.parse(document.getElementById("techkg-data").textContent);
  var data = payload.data;
  var SHAPE_GLYPH = { dot: "\u25CF", triangle: "\u25B2", diamond: "\u25C6", square: "\u25A0",
                      star: "\u2605", triangleDown: "\u25BC", hexagon: "\u2B22" };

  var byId = new Map();
  var edgeById = new Map();
  var incident = new Map();
  var typeStyle = new Map();
  data.types.forEach(function (t) { typeStyle.set(t.name, t); });
  data.nodes.forEach(function (n) { byId.set(n.id, n); incident.set(n.id, []); });
  data.edges.forEach(function (e) {
    edgeById.set(e.id, e);
    incident.get(e.from).push(e);
    if (e.to !== e.from) { incident.get(e.to).push(e); }
  });

  function fold(s) { return String(s).normalize("NFKC").toLowerCase(); }
  var searchIndex = data.nodes.map(function (n) {
    var names = [n.label, n.zh, n.en].concat(n.aliases).filter(function (x) { return x; });
    return { id: n.id, names: names, folded: names.map(fold) };
  });

  var state = { types: new Set(data.types.map(function (t) { return t.name; })),
                doc: "", docNodes: null, neighbours: null, selected: null };

  function nodeVisible(id) {
    var n = byId.get(id);
    if (!state.types.has(n.type)) { return false; }
    if (state.docNodes && !state.docNodes.has(id)) { return false; }
    if (state.neighbours && !state.neighbours.has(id)) { return false; }
    return true;
  }
  function edgeInDoc(e) { return !state.doc || e.documents.indexOf(state.doc) >= 0; }

  var nodes = new vis.DataSet(payload.vis.nodes);
  var edges = new vis.DataSet(payload.vis.edges);
  // Filters set vis's "hidden" flag on what changed. (A vis.DataView would remove and
  // re-create the items, which is several times slower on a big graph.)
  var shownNodes = new Set(data.nodes.map(function (n) { return n.id; }));
  var shownEdges = new Set(data.edges.map(function (e) { return e.id; }));
  var flaggedEdges = new Set();  // edges whose own "hidden" flag is set (document filter)
  var container = document.getElementById("network");
  var network = new vis.Network(container, { nodes: nodes, edges: edges }, payload.vis.options);

  var techkg = { network: network, nodes: nodes, edges: edges, data: data, ready: false,
                 firstDraw: null,
                 visibleNodeIds: function () { return Array.from(shownNodes); },
                 visibleEdgeIds: function () { return Array.from(shownEdges); } };
  window.techkg = techkg;
  network.once("afterDrawing", function () {
    techkg.firstDraw = performance.now();
    techkg.ready = true;
    document.body.setAttribute("data-ready", "true");
  });

  if (!data.nodes.length) {
    var empty = el("p", "empty", "No entities in this graph.");
    empty.setAttribute("data-testid", "empty");
    container.appendChild(empty);
  }

  // ---- edge labels on demand (large graphs) ----
  // vis-network draws every edge label on every frame, visible or not; on a big graph
  // that alone takes seconds, so only the edges in view (and the selected node's) get one.
  var labelsOnDemand = payload.vis.edgeLabels === "visible";
  var labelled = new Set();
  var MAX_LABELS = 400;
  var LABEL_MIN_SCALE = 0.5;  // edge font 10 x scale under vis's drawThreshold of 5: not drawn anyway
  function refreshLabels() {
    if (!labelsOnDemand) { return; }
    var want = new Set();
    if (state.selected) {
      incident.get(state.selected).forEach(function (e) { want.add(e.id); });
    }
    if (network.getScale() >= LABEL_MIN_SCALE) {
      var a = network.DOMtoCanvas({ x: 0, y: 0 });
      var b = network.DOMtoCanvas({ x: container.clientWidth, y: container.clientHeight });
      var body = network.body.nodes;
      var ids = Array.from(shownEdges);
      var inView = [];
      for (var i = 0; i < ids.length && inView.length <= MAX_LABELS; i++) {
        var e = edgeById.get(ids[i]), p = body[e.from], q = body[e.to];
        if (!p || !q) { continue; }
        var mx = (p.x + q.x) / 2, my = (p.y + q.y) / 2;
        if (mx >= a.x && mx <= b.x && my >= a.y && my <= b.y) { inView.push(e.id); }
      }
      // More than that on one screen is a hairball no label makes readable: zoom in.
      if (inView.length <= MAX_LABELS) { inView.forEach(function (id) { want.add(id); }); }
    }
    var changes = [];
    labelled.forEach(function (id) { if (!want.has(id)) { changes.push({ id: id, label: "" }); } });
    want.forEach(function (id) {
      if (!labelled.has(id)) { changes.push({ id: id, label: edgeById.get(id).predicate }); }
    });
    labelled = want;
    if (changes.length) { edges.update(changes); }
  }
  var labelTimer = null;
  function refreshLabelsSoon() {
    if (!labelsOnDemand) { return; }
    clearTimeout(labelTimer);
    labelTimer = setTimeout(refreshLabels, 120);
  }
  ["zoom", "dragEnd", "animationFinished"].forEach(function (name) {
    network.on(name, refreshLabelsSoon);
  });

  // ---- small DOM helpers (text only) ----
  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }
  function entityButton(id) {
    var n = byId.get(id);
    var b = el("button", "entity-link", n.label);
    b.type = "button";
    b.title = n.type;
    b.setAttribute("data-testid", "entity-link");
    b.addEventListener("click", function () { select(id, true); });
    return b;
  }

  // ---- filters ----
  var status = document.getElementById("status");
  function applyFilters() {
    var nodeChanges = [], edgeChanges = [], nextNodes = new Set(), nextEdges = new Set();
    data.nodes.forEach(function (n) {
      var on = nodeVisible(n.id);
      if (on) { nextNodes.add(n.id); }
      if (on !== shownNodes.has(n.id)) { nodeChanges.push({ id: n.id, hidden: !on }); }
    });
    data.edges.forEach(function (e) {
      var ends = nextNodes.has(e.from) && nextNodes.has(e.to);
      var own = edgeInDoc(e);
      if (ends && own) { nextEdges.add(e.id); }
      // vis already skips an edge whose end is hidden: flag only edges it would draw
      if (ends && own === flaggedEdges.has(e.id)) {
        edgeChanges.push({ id: e.id, hidden: !own });
        if (own) { flaggedEdges.delete(e.id); } else { flaggedEdges.add(e.id); }
      }
    });
    shownNodes = nextNodes;
    shownEdges = nextEdges;
    if (nodeChanges.length) { nodes.update(nodeChanges); }
    if (edgeChanges.length) { edges.update(edgeChanges); }
    refreshLabelsSoon();
    status.textContent = shownNodes.size + " of " + data.nodes.length + " entities \u00B7 " +
      shownEdges.size + " of " + data.edges.length + " relations";
  }

  var legend = document.getElementById("legend");
  legend.appendChild(el("h3", null, "Types"));
  data.types.forEach(function (t) {
    var label = el("label");
    label.setAttribute("data-testid", "legend-" + t.name);
    var box = el("input");
    box.type = "checkbox";
    box.checked = true;
    box.value = t.name;
    box.setAttribute("data-testid", "type-filter-" + t.name);
    box.addEventListener("change", function () {
      if (box.checked) { state.types.add(t.name); } else { state.types.delete(t.name); }
      applyFilters();
    });
    var glyph = el("span", "glyph", SHAPE_GLYPH[t.shape] || "\u25CF");
    glyph.style.color = t.color;
    label.appendChild(box);
    label.appendChild(glyph);
    label.appendChild(el("span", t.count ? null : "muted", t.name));
    label.appendChild(el("span", "count", t.count));
    legend.appendChild(label);
  });
  function setType(name, on) {
    var box = legend.querySelector('input[value="' + name + '"]');
    if (box) { box.checked = on; }
    if (on) { state.types.add(name); } else { state.types.delete(name); }
  }

  var docSelect = document.getElementById("doc-filter");
  data.documents.forEach(function (d) {
    var opt = el("option", null, d.title ? d.fileName + " \u2014 " + d.title : d.fileName);
    opt.value = d.fileName;
    docSelect.appendChild(opt);
  });
  function setDoc(name) {
    state.doc = name;
    docSelect.value = name;
    if (!name) { state.docNodes = null; return; }
    var keep = new Set();
    data.nodes.forEach(function (n) { if (n.documents.indexOf(name) >= 0) { keep.add(n.id); } });
    data.edges.forEach(function (e) {
      if (e.documents.indexOf(name) >= 0) { keep.add(e.from); keep.add(e.to); }
    });
    state.docNodes = keep;
  }
  docSelect.addEventListener("change", function () { setDoc(docSelect.value); applyFilters(); });

  var neighboursButton = document.getElementById("show-neighbours");
  function showNeighbours(on) {
    if (on && state.selected) {
      var keep = new Set([state.selected]);
      incident.get(state.selected).forEach(function (e) { keep.add(e.from); keep.add(e.to); });
      state.neighbours = keep;
      neighboursButton.textContent = "Show all";
      neighboursButton.setAttribute("aria-pressed", "true");
    } else {
      state.neighbours = null;
      neighboursButton.textContent = "Show neighbours";
      neighboursButton.setAttribute("aria-pressed", "false");
    }
    applyFilters();
    if (state.neighbours) {
      network.fit({ nodes: Array.from(shownNodes), animation: false });
      if (state.selected) { network.selectNodes([state.selected]); }
    }
  }
  neighboursButton.addEventListener("click", function () { showNeighbours(!state.neighbours); });

  document.getElementById("fit").addEventListener("click", function () { network.fit({ animation: false }); });
  document.getElementById("reset").addEventListener("click", function () {
    data.types.forEach(function (t) { setType(t.name, true); });
    setDoc("");
    searchInput.value = "";
    hideResults();
    showNeighbours(false);
    clearSelection();
    network.fit({ animation: false });
  });

  // ---- selection and the side panel ----
  var panel = document.getElementById("panel");

  function select(id, focus) {
    var n = byId.get(id);
    if (!n) { return; }
    if (!nodeVisible(id)) {
      // A search or a link must land on its node even when a filter hid it.
      if (!state.types.has(n.type)) { setType(n.type, true); }
      if (state.docNodes && !state.docNodes.has(id)) { setDoc(""); }
      if (state.neighbours && !state.neighbours.has(id)) { state.neighbours = null; }
      showNeighbours(false);
    }
    state.selected = id;
    network.selectNodes([id]);
    showNode(id);
    if (focus) {
      // a big graph renders too few frames per second for an animation to help
      network.focus(id, { scale: Math.max(network.getScale(), 1.0),
                          // the panel floats over the canvas's right side: centre left of it
                          offset: { x: -panel.offsetWidth / 2, y: 0 },
                          animation: labelsOnDemand ? false
                                     : { duration: 300, easingFunction: "easeInOutQuad" } });
    }
    neighboursButton.disabled = false;
    refreshLabelsSoon();
  }

  function clearSelection() {
    state.selected = null;
    network.unselectAll();
    neighboursButton.disabled = true;
    panel.hidden = true;
    panel.replaceChildren();
    refreshLabelsSoon();
  }

  function openPanel(heading) {
    panel.replaceChildren();
    var close = el("button", "close", "\u00D7");
    close.type = "button";
    close.title = "Close";
    close.setAttribute("data-testid", "panel-close");
    close.addEventListener("click", clearSelection);
    panel.appendChild(close);
    var h = el("h2", null, heading);
    h.setAttribute("data-testid", "panel-title");
    panel.appendChild(h);
    panel.hidden = false;
  }

  function addRow(dl, name, value, testid) {
    if (value === null || value === undefined || value === "" ) { return; }
    dl.appendChild(el("dt", null, name));
    var dd = el("dd");
    if (value instanceof Node) { dd.appendChild(value); } else { dd.textContent = String(value); }
    if (testid) { dd.setAttribute("data-testid", testid); }
    dl.appendChild(dd);
  }

  function evidenceList(edge) {
    var ul = el("ul", "evidence");
    if (!edge.evidence.length) {
      ul.appendChild(el("li", "none", "No source sentence (hand-curated)."));
      return ul;
    }
    edge.evidence.forEach(function (ev) {
      var li = el("li");
      li.setAttribute("data-testid", "evidence");
      var s = ev.text ? el("span", "sentence", ev.text) : el("span", "sentence none", "No source sentence.");
      s.setAttribute("data-testid", "evidence-text");
      li.appendChild(s);
      var meta = ev.document || "";
      if (ev.method) { meta += (meta ? " \u00B7 " : "") + ev.method; }
      if (ev.confidence !== null && ev.confidence !== undefined) { meta += " \u00B7 " + ev.confidence; }
      var src = el("span", "source", meta);
      src.setAttribute("data-testid", "evidence-document");
      li.appendChild(src);
      ul.appendChild(li);
    });
    return ul;
  }

  function showNode(id) {
    var n = byId.get(id);
    openPanel(n.label);
    panel.setAttribute("data-node", n.id);
    var dl = el("dl");
    addRow(dl, "Type", n.type, "panel-type");
    addRow(dl, "中文", n.zh, "panel-zh");
    addRow(dl, "English", n.en, "panel-en");
    if (n.aliases.length) {
      var list = el("div");
      n.aliases.forEach(function (a) { list.appendChild(el("div", null, a)); });
      addRow(dl, "Aliases", list, "panel-aliases");
    }
    if (n.wikidata) {
      var q = el("span", null, n.wikidata);
      if (/^Q[0-9]+$/.test(n.wikidata)) {
        q = el("a", null, n.wikidata);
        q.href = "https://www.wikidata.org/wiki/" + n.wikidata;
        q.target = "_blank";
        q.rel = "noopener noreferrer";
      }
      addRow(dl, "Wikidata", q, "panel-wikidata");
    }
    addRow(dl, "Documents", n.documents.join(", "), "panel-documents");
    addRow(dl, "IRI", n.id, "panel-iri");
    panel.appendChild(dl);

    var facts = incident.get(id).slice().sort(function (a, b) {
      var ao = a.from === id ? 0 : 1, bo = b.from === id ? 0 : 1;
      if (ao !== bo) { return ao - bo; }
      if (a.predicate !== b.predicate) { return a.predicate < b.predicate ? -1 : 1; }
      return a.id < b.id ? -1 : 1;
    });
    panel.appendChild(el("h3", null, "Facts (" + facts.length + ")"));
    var ul = el("ul", "facts");
    ul.setAttribute("data-testid", "facts");
    if (!facts.length) { ul.appendChild(el("li", "none", "No relations.")); }
    facts.forEach(function (e) {
      var li = el("li", "fact");
      li.setAttribute("data-testid", "fact");
      li.setAttribute("data-edge", e.id);
      var head = el("div");
      var outgoing = e.from === id;
      head.appendChild(el("span", "arrow", outgoing ? "\u2192" : "\u2190"));
      head.appendChild(el("span", "predicate", e.predicate));
      head.appendChild(el("span", "arrow", outgoing ? "\u2192" : "\u2014"));
      head.appendChild(entityButton(outgoing ? e.to : e.from));
      li.appendChild(head);
      li.appendChild(evidenceList(e));
      ul.appendChild(li);
    });
    panel.appendChild(ul);
  }

  function showEdge(edgeId) {
    var e = edgeById.get(edgeId);
    openPanel(e.predicate);
    panel.setAttribute("data-edge", e.id);
    var dl = el("dl");
    addRow(dl, "Subject", entityButton(e.from));
    addRow(dl, "Predicate", e.predicate, "panel-predicate");
    addRow(dl, "Object", entityButton(e.to));
    addRow(dl, "Documents", e.documents.join(", "), "panel-documents");
    panel.appendChild(dl);
    panel.appendChild(el("h3", null, "Evidence (" + e.evidence.length + ")"));
    panel.appendChild(evidenceList(e));
  }

  network.on("click", function (params) {
    if (params.nodes.length) { select(params.nodes[0], false); }
    else if (params.edges.length) {
      state.selected = null;
      neighboursButton.disabled = !state.neighbours;
      showEdge(params.edges[0]);
    } else { clearSelection(); }
  });

  // ---- search ----
  var searchInput = document.getElementById("search");
  var results = document.getElementById("search-results");
  var MAX_RESULTS = 20;

  function find(query) {
    var q = fold(query).trim();
    if (!q) { return []; }
    var hits = [];
    searchIndex.forEach(function (entry) {
      var best = 3, name = null;
      for (var i = 0; i < entry.folded.length; i++) {
        var f = entry.folded[i];
        var rank = f === q ? 0 : f.indexOf(q) === 0 ? 1 : f.indexOf(q) > 0 ? 2 : 3;
        if (rank < best) { best = rank; name = entry.names[i]; }
      }
      if (best < 3) { hits.push({ id: entry.id, rank: best, name: name }); }
    });
    hits.sort(function (a, b) {
      if (a.rank !== b.rank) { return a.rank - b.rank; }
      var da = byId.get(a.id).degree, db = byId.get(b.id).degree;
      if (da !== db) { return db - da; }
      return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
    });
    return hits;
  }

  function hideResults() { results.hidden = true; results.replaceChildren(); }

  function showResults(hits) {
    results.replaceChildren();
    if (!hits.length) {
      results.appendChild(el("li", "empty", "No match"));
    }
    hits.slice(0, MAX_RESULTS).forEach(function (h) {
      var n = byId.get(h.id);
      var li = el("li");
      var b = el("button");
      b.type = "button";
      b.setAttribute("data-testid", "search-result");
      b.appendChild(el("span", null, n.label));
      var extra = h.name !== n.label ? h.name + " \u00B7 " + n.type : n.type;
      b.appendChild(el("span", "match", " " + extra));
      b.addEventListener("click", function () { hideResults(); select(h.id, true); });
      li.appendChild(b);
      results.appendChild(li);
    });
    results.hidden = false;
  }

  searchInput.addEventListener("input", function () {
    if (!searchInput.value.trim()) { hideResults(); return; }
    showResults(find(searchInput.value));
  });
  searchInput.addEventListener("keydown", function (ev) {
    if (ev.key === "Enter") {
      var hits = find(searchInput.value);
      if (hits.length) { hideResults(); select(hits[0].id, true); } else { showResults(hits); }
      ev.preventDefault();
    } else if (ev.key === "Escape") {
      hideResults();
    }
  });
  document.addEventListener("click", function (ev) {
    if (!results.contains(ev.target) && ev.target !== searchInput) { hideResults(); }
  });

  techkg.select = function (id) { select(id, true); };
  techkg.find = find;
  techkg.showNeighbours = showNeighbours;
  techkg.refreshLabels = refreshLabels;

  applyFilters();
  if (data.nodes.length) { network.fit({ animation: false }); }
})();
