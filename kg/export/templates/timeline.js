// techkg timeline: builds the page from the JSON block with textContent only.
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("techkg-timeline-data").textContent);
  const KIND_NAMES = { event: "Event · 事件", launch: "Launch · 发布" };
  const $ = (id) => document.getElementById(id);

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function option(select, value, label) {
    select.appendChild(el("option", { value: value }, label));
  }

  function chips(list, cls, testid, caption) {
    const ul = el("ul", { class: "chips " + cls, "data-testid": testid, "data-caption": caption });
    for (const x of list) ul.appendChild(el("li", { title: x.type }, x.label));
    return ul;
  }

  function evidenceBlock(records) {
    const box = el("div", { class: "evidence" });
    const quote = (r) => {
      const q = el("blockquote", { "data-testid": "evidence-text" }, r.text);
      const where = r.title ? r.title + " (" + r.document + ")" : r.document;
      const frag = document.createDocumentFragment();
      frag.appendChild(q);
      frag.appendChild(el("cite", { "data-testid": "evidence-document" }, where));
      return frag;
    };
    if (!records.length) return box;
    box.appendChild(quote(records[0]));
    if (records.length > 1) {
      const more = el("details");
      more.appendChild(el("summary", {}, (records.length - 1) + " more sentence(s) · 更多证据"));
      for (const r of records.slice(1)) more.appendChild(quote(r));
      box.appendChild(more);
    }
    return box;
  }

  function item(x) {
    const li = el("li", { class: "item", "data-testid": "item", "data-kind": x.kind, "data-n": String(x.n) });
    const head = el("header");
    head.appendChild(el("span", { class: "date", "data-testid": "item-date" }, x.date));
    head.appendChild(el("span", { class: "kind" }, KIND_NAMES[x.kind] || x.kind));
    head.appendChild(el("h3", { "data-testid": "item-label" }, x.label));
    li.appendChild(head);
    if (x.participants.length) li.appendChild(chips(x.participants, "who", "participants", "With · 参与"));
    if (x.technologies.length) li.appendChild(chips(x.technologies, "tech", "technologies", "Field · 领域"));
    li.appendChild(evidenceBlock(x.evidence));
    return li;
  }

  // --- build
  const main = $("timeline");
  const groups = new Map();
  for (const period of data.periods) {
    const section = el("section", { class: "period", "data-testid": "period", "data-period": period });
    section.appendChild(el("h2", {}, period.length === 4 ? period + " (month unknown · 月份不详)" : period));
    const list = el("ol", { class: "items" });
    section.appendChild(list);
    main.appendChild(section);
    groups.set(period, { section: section, list: list });
  }
  const rows = data.items.map((x) => {
    const node = item(x);
    groups.get(x.period).list.appendChild(node);
    return { x: x, node: node, techs: new Set(x.technologies.map((t) => t.id)),
             orgs: new Set(x.organizations.map((o) => o.id)) };
  });

  const tech = $("tech-filter"), org = $("org-filter");
  for (const t of data.technologies) option(tech, t.id, t.label);
  for (const o of data.organizations) option(org, o.id, o.label);
  const kinds = {};
  for (const k of data.kinds) {
    const box = el("input", { type: "checkbox", "data-testid": "kind-" + k });
    box.checked = true;
    const label = el("label");
    label.appendChild(box);
    label.appendChild(document.createTextNode(" " + (KIND_NAMES[k] || k)));
    $("kinds").appendChild(label);
    kinds[k] = box;
    box.addEventListener("change", apply);
  }

  function apply() {
    let shown = 0;
    for (const r of rows) {
      const ok = (!tech.value || r.techs.has(tech.value)) && (!org.value || r.orgs.has(org.value)) &&
                 (!kinds[r.x.kind] || kinds[r.x.kind].checked);
      r.node.hidden = !ok;
      if (ok) shown += 1;
    }
    for (const g of groups.values()) g.section.hidden = !g.list.querySelector(".item:not([hidden])");
    $("status").textContent = shown + " of " + rows.length + " items";
    $("empty").hidden = shown > 0;
    return shown;
  }

  tech.addEventListener("change", apply);
  org.addEventListener("change", apply);
  $("reset").addEventListener("click", () => {
    tech.value = "";
    org.value = "";
    for (const box of Object.values(kinds)) box.checked = true;
    apply();
  });
  apply();
  window.techkgTimeline = {
    data: data,
    apply: apply,
    visible: () => rows.filter((r) => !r.node.hidden).map((r) => r.x.id),
    ready: true,
  };
})();
