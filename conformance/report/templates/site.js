// initspec site: porting matrix, cell list, cell detail. Data: window.INITSPEC_GZ (data.js),
// gzip + base64 of {compat, details}; details[i] = [checks, reproducer] of compat.cells[i].
"use strict";
async function unpack(b64) {
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
  return new Response(stream).json();
}
unpack(window.INITSPEC_GZ).then(({compat, details}) => start(compat, details));

function expand(packed) {
  // compat.json stores what every dtype repeats once (initspec/report/packing.py): put it back
  const shared = packed.shared || {};
  const cases = shared.cases || {}, texts = shared.promises || {};
  packed.cells = packed.cells.map((own) => {
    const key = own.column + "|" + own.entry;
    const c = {...(cases[key + "|" + own.case] || {}), ...own};
    if (c.promises) c.promises = c.promises.map((p) => ({...(texts[key + "|" + p.id] || {}), ...p}));
    return c;
  });
  return packed;
}

function start(PACKED, DETAILS) {
  const DATA = expand(PACKED);
  // marks every system font has (DejaVu included): colour-emoji fonts are often missing
  const SYMBOL = {"pass": "✓", "fail": "✗", "known-deviation": "⚠", "skip": "–", "error": "!"};
  const DTYPE_ORDER = {"float32": 0, "float64": 1, "float16": 2, "bfloat16": 3};
  const LIMIT = 300;
  const $ = (id) => document.getElementById(id);
  const esc = (s) => String(s === null || s === undefined ? "" : s).replace(/[&<>"']/g,
    (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"})[c]);
  const byId = new Map(DATA.cells.map((c, i) => [c.id, i]));
  const frameworks = [...new Set(DATA.runs.map((r) => r.framework))].sort();
  let showAll = false;

  // ------------------------------------------------------------------ lookups
  function runsOf(framework, dtype) {
    // the runs of one column in one dtype (cpu first); dtype "" = its reference run
    const runs = DATA.runs.map((r, i) => [r, i]).filter(([r]) => r.framework === framework &&
      (!dtype || r.dtype === dtype));
    runs.sort(([a], [b]) => (a.device !== "cpu") - (b.device !== "cpu") ||
      (DTYPE_ORDER[a.dtype] ?? 9) - (DTYPE_ORDER[b.dtype] ?? 9));
    return dtype ? runs.map(([, i]) => i) : runs.slice(0, 1).map(([, i]) => i);
  }
  const conceptCell = new Map();  // "run|concept" -> first own (non-recipe) cell
  const recipeCell = new Map();   // "run|source|concept" -> first recipe cell
  for (const c of DATA.cells) {
    if (!c.concept && !c.recipe) continue;
    if (c.recipe) {
      // one cell answers for every source with the same default on the same shapes
      for (const from of [c.recipe.from, ...(c.recipe.also_from || [])]) {
        const key = c.run + "|" + from.column + "|" + c.recipe.concept;
        if (!recipeCell.has(key)) recipeCell.set(key, c);
      }
    } else if (!conceptCell.has(c.run + "|" + c.concept)) {
      conceptCell.set(c.run + "|" + c.concept, c);
    }
  }
  // why a (source spec, concept, target spec) has no recipe (initspec.report.unported)
  const unported = new Map((DATA.unported || []).map((u) => [u.from + "|" + u.concept + "|" + u.to, u.why]));
  const specOf = new Map(DATA.runs.map((r) => [r.framework, r.spec || r.framework]));
  const concepts = [...new Set(DATA.cells.filter((c) => c.concept && !c.recipe)
    .map((c) => c.concept))].sort();
  const sources = [...new Set(DATA.cells.filter((c) => c.recipe)
    .flatMap((c) => [c.recipe.from, ...(c.recipe.also_from || [])].map((f) => f.column)))].sort();

  function neutral(c) {
    if (c.repeat) {
      return `reproducibility (${c.repeat.reuse ? "one object called again" : "fresh objects"}): draws ${c.repeat.expect}`;
    }
    if (c.neutral && c.neutral.form) return c.neutral.form;
    if (c.variance_formula) return c.scheme + ", Var " + c.variance_formula;
    if (c.family === "constant" && c.params) return c.scheme + " = " + c.params.value;
    return c.scheme || "";
  }
  function verified(c) {
    const r = c.recipe || {};
    return c.verdict === "pass" && r.expressible !== false &&
      (!r.two_sample || r.two_sample.passed === true);
  }
  function badges(c) {
    let out = "";
    for (const cond of c.conditions || []) {
      out += `<span class="badge cond" title="${esc(cond.text)}">${esc(cond.kind)}</span>`;
    }
    if (c.expect === "raises" && !neutral(c).includes("raises")) {
      out += '<span class="badge cond">raises</span>';
    }
    if (c.drift) out += '<span class="badge drift" title="a documented promise the samples reject">docs drift</span>';
    return out;
  }
  const link = (c, text) => `<a class="mark v-${esc(c.verdict)}" title="${esc(c.verdict)}" href="#cell=${encodeURIComponent(c.id)}">${text}</a>`;

  // ------------------------------------------------------------------ filters
  function filters() {
    return {
      source: $("f-source").value,
      frameworks: [...document.querySelectorAll("#f-frameworks input:checked")].map((e) => e.value),
      text: $("f-text").value.trim().toLowerCase(),
      dtype: $("f-dtype").value,
      verdict: $("f-verdict").value,
      drift: $("f-drift").checked,
    };
  }
  function cellMatches(c, f) {
    return (!f.verdict || c.verdict === f.verdict) && (!f.drift || c.drift);
  }

  // ------------------------------------------------------------------ matrix
  function matrixCell(framework, concept, f) {
    const runs = runsOf(framework, f.dtype);
    for (const run of runs) {
      if (f.source && framework !== f.source) {
        const c = recipeCell.get(run + "|" + f.source + "|" + concept);
        if (c) return {cell: c, recipe: true};
        const why = unported.get(f.source + "|" + concept + "|" + specOf.get(framework));
        if (why) return {cell: null, why: why};
      } else {
        const c = conceptCell.get(run + "|" + concept);
        if (c) return {cell: c, recipe: false};
      }
    }
    return null;
  }
  function renderRecipe(c) {
    const r = c.recipe;
    if (verified(c)) {
      return `${link(c, SYMBOL.pass)} <code class="call">${esc(r.call)}</code>` +
        (r.needs ? `<div class="needs">${esc(r.needs)}</div>` : "");
    }
    if (r.gap) {
      return `${link(c, SYMBOL[c.verdict] || c.verdict)} <span class="gap">not expressible: ${esc(r.gap)}</span>`;
    }
    return `${link(c, (SYMBOL[c.verdict] || c.verdict) + " not verified")}`;
  }
  function renderMatrix() {
    const f = filters();
    const shown = frameworks.filter((x) => f.frameworks.includes(x));
    const cols = f.source ? [f.source, ...shown.filter((x) => x !== f.source)] : shown;
    $("matrix").tHead.innerHTML = "<tr><th>Concept</th>" + cols.map((x) =>
      `<th class="${x === f.source ? "source" : ""}">${esc(x)}${x === f.source ? " (source)" : ""}</th>`).join("") + "</tr>";
    const rows = [];
    for (const concept of concepts) {
      const found = cols.map((x) => matrixCell(x, concept, f));
      const own = found.filter((m) => m && m.cell);
      if (!own.length) continue;
      const text = [concept, ...own.map((m) => m.cell.entry)].join(" ").toLowerCase();
      if (f.text && !text.includes(f.text)) continue;
      if ((f.verdict || f.drift) && !own.some((m) => cellMatches(m.cell, f))) continue;
      const tds = found.map((m, i) => {
        if (!m) return '<td class="none"></td>';
        if (!m.cell) return `<td class="none"><span class="gap">no recipe: ${esc(m.why)}</span></td>`;
        const c = m.cell;
        const cls = (cols[i] === f.source ? "source " : "") + (cellMatches(c, f) ? "" : "dim");
        const body = m.recipe ? renderRecipe(c) :
          `${link(c, SYMBOL[c.verdict] || esc(c.verdict))} <code>${esc(neutral(c))}</code>` +
          (c.select ? ` <span class="part">(${esc(c.entry)} only)</span>` : "") + badges(c);
        return `<td class="${cls}" title="${esc(c.entry)} [${esc(c.case)}]">${body}</td>`;
      });
      rows.push(`<tr data-concept="${esc(concept)}"><th scope="row"><code>${esc(concept)}</code></th>${tds.join("")}</tr>`);
    }
    $("matrix").tBodies[0].innerHTML = rows.join("");
    $("matrix-empty").hidden = rows.length > 0;
    $("matrix-help").textContent = f.source ?
      `For each concept: ${f.source}'s default (first column), and in every other column the call that reproduces it there, verified by a run (✓) — or why it cannot be written.` :
      `Each framework's default per concept (its first shape case, ${f.dtype || "reference run"}), in one neutral notation, with the cell's verdict. Choose a source framework to see the porting calls.`;
  }

  // ------------------------------------------------------------------ all cells
  function renderCells() {
    const f = filters();
    const list = DATA.cells.filter((c) => f.frameworks.includes(c.column) &&
      (!f.dtype || c.dtype === f.dtype) && cellMatches(c, f) &&
      (!f.text || (c.id + " " + (c.concept || "")).toLowerCase().includes(f.text)));
    const visible = showAll ? list : list.slice(0, LIMIT);
    $("cells").tBodies[0].innerHTML = visible.map((c) => {
      const result = c.verdict === "pass" ? (c.ratio !== null && c.ratio !== undefined ? "variance ratio " + c.ratio.toFixed(3) : "exact") :
        (c.failed.length ? c.failed.join(", ") : c.message);
      return `<tr><td>${link(c, SYMBOL[c.verdict] || esc(c.verdict))}</td><td>${esc(c.column)}</td><td>${esc(c.dtype)}</td>` +
        `<td><a href="#cell=${encodeURIComponent(c.id)}"><code>${esc(c.entry)}</code> [${esc(c.case)}]</a>${badges(c)}</td>` +
        `<td><code>${esc(neutral(c))}</code></td><td>${esc(result)}</td></tr>`;
    }).join("");
    $("cells-count").textContent = `${list.length} cells match` + (visible.length < list.length ? ` (first ${visible.length} shown).` : ".");
    $("cells-more").hidden = visible.length >= list.length;
  }

  // ------------------------------------------------------------------ detail
  function row(name, value) {
    return value === null || value === undefined || value === "" ? "" :
      `<tr><th>${esc(name)}</th><td>${value}</td></tr>`;
  }
  function renderDetail(id) {
    const index = byId.get(id);
    const el = $("view-detail");
    if (index === undefined) {
      el.innerHTML = `<p class="empty">No cell <code>${esc(id)}</code> in these results. <a href="#">Back to the matrix</a></p>`;
      return;
    }
    const c = DATA.cells[index];
    const [checks, reproducer] = DETAILS[index];
    const docs = DATA.entries[c.column + "|" + c.entry] || {};
    const dev = c.deviation ? Object.assign({id: c.deviation}, DATA.deviations[c.deviation]) : null;
    const run = DATA.runs[c.run];
    const n = c.neutral || {};
    const params = c.params ? Object.entries(c.params).map(([k, v]) => `${esc(k)}=${esc(v)}`).join(", ") : "";
    let html = `<p><a href="#" id="detail-back">← porting matrix</a> · <a href="#cells">all cells</a></p>` +
      `<h2 id="detail-title"><span class="mark v-${esc(c.verdict)}">${SYMBOL[c.verdict] || ""}</span> <code>${esc(c.entry)}</code> [${esc(c.case)}]</h2>` +
      `<p class="cellid"><code>${esc(c.id)}</code>${badges(c)}</p><table class="facts">` +
      row("Run", esc(`${run.framework} ${run.framework_version}, ${run.device}, ${run.dtype} (seed ${run.seed}, ${run.timestamp}, α per check ${Number(run.alpha_per_check).toPrecision(3)}) — ${run.file}`)) +
      row("Verdict", `<strong class="mark v-${esc(c.verdict)}">${esc(c.verdict)}</strong>` + (c.message ? ": " + esc(c.message) : "")) +
      row("Neutral form", n.form ? `<code>${esc(n.form)}</code>` : "") +
      row("Distribution", n.distribution && n.distribution !== n.form ? `<code>${esc(n.distribution)}</code>` : "") +
      row("Variance", n.variance && !(n.distribution || "").includes(n.variance) ? `<code>${esc(n.variance)}</code>` : "") +
      row("At this case", n.numbers ? esc(n.numbers) : "") +
      row("Fan rule", n.fan_note ? esc(n.fan_note) : "") +
      row("Fans", c.fans ? esc(Object.entries(c.fans).map(([k, v]) => `${k} = ${v}`).join(", ")) : "") +
      row("Spec", `<code>${esc(c.scheme)}</code>: ${esc(c.family)}(${params})` +
        (c.variance_formula ? `; Var <code>${esc(c.variance_formula)}</code>` +
          (typeof c.expected_variance === "number" ? ` = ${c.expected_variance.toPrecision(4)}` : "") : "")) +
      row("Target", `<code>${esc(c.target)}</code>` + (c.param ? ` → <code>${esc(c.param)}</code>` : "") +
        (c.shape ? `, shape (${c.shape.join(", ")})` : "") + (c.n ? `, n = ${c.n}` : "")) +
      row("Conditions", (c.conditions || []).map((x) => `<div><span class="badge cond">${esc(x.kind)}</span> ${esc(x.text)}</div>`).join("") +
        (c.expect === "raises" ? "<div>the framework raises here (expected)</div>" : "")) +
      row("Known deviation", dev ? `<code>${esc(dev.id)}</code>: ${esc(dev.reason)} (<a href="${esc(dev.link)}">upstream</a>)` : "") +
      row("Documentation says", docs.docs_claim ? `<a href="${esc(docs.docs_url)}">${esc(docs.docs_claim)}</a>` : "") +
      row("Source", esc(docs.source)) + "</table>";
    if (c.recipe) {
      const r = c.recipe;
      html += `<h3>Porting recipe: ${esc(r.from.column)} → ${esc(c.column)}</h3><table class="facts">` +
        row("Reproduces", esc(`${r.from.column} ${r.from.entry} [${r.from.case}]`)) +
        row("Call", `<code class="call">${esc(r.call)}</code>` + (verified(c) ? ' <span class="mark v-pass">✓ verified by this run</span>' : " — not verified")) +
        row("Needs", esc(r.needs)) + row("Cannot express", esc(r.gap)) +
        row("Two-sample", r.two_sample ? esc(`${r.two_sample.test}: p = ${r.two_sample.p_value} (α ${r.two_sample.alpha}) ${r.two_sample.passed ? "agrees" : "differs"}`) : "") + "</table>";
    }
    if (c.promises && c.promises.length) {
      html += "<h3>What the documentation promises</h3><table class=\"checks\"><tr><th>Promise</th><th>By</th><th>Says</th><th>Verdict</th></tr>" +
        c.promises.map((p) => `<tr class="${p.verdict === "drift" ? "bad" : ""}"><td><code>${esc(p.distribution)}</code> (${esc(p.kind)})</td>` +
          `<td>${p.url ? `<a href="${esc(p.url)}">${esc(p.by)}</a>` : esc(p.by)}</td><td>${esc(p.says)}</td>` +
          `<td>${esc(p.verdict)}${typeof p.p_value === "number" ? ", p = " + p.p_value.toPrecision(3) : ""}${p.failed_checks && p.failed_checks.length ? " (" + esc(p.failed_checks.join(", ")) + ")" : ""}</td></tr>`).join("") + "</table>";
    }
    html += "<h3>Evidence</h3>" + (c.plot ?
      `<img id="detail-plot" class="plot" src="${esc(c.plot)}" alt="histogram over the expected counts, QQ plot and tail counts of ${esc(c.id)}" width="720" height="198">` +
      `<p class="help" id="detail-caption"><span class="key obs"></span> observed, <span class="key exp"></span> expected. ` +
      `Left: counts in 50 equal bins over the reference's bulk (bars) and the counts the reference expects (line: ${c.dtype === "float16" || c.dtype === "bfloat16" ? "the exact pmf of the distribution rounded to " + esc(c.dtype) : "the continuous reference"}). ` +
      "Middle: sample vs reference quantiles in σ of the reference (on the line when they agree). " +
      "Right: counts beyond kσ and at each bound, observed (dot) vs expected ±2√E (bar), log scale. " +
      "Drawn by matplotlib from the evidence stored at check time, never re-sampled.</p>" :
      `<p class="help" id="detail-noplot">No plot: ${c.has_evidence ? "the plot was not drawn (rendered with <code>initspec report --no-plots</code>; <code>nox -s report</code> draws every plot)" : "this cell stores no evidence (an exact check, a skipped cell, or results written before evidence was stored)"}.</p>`);
    html += "<h3>Checks</h3><table class=\"checks\">" + checks.map(([name, ok, msg]) =>
      `<tr class="${ok ? "" : "bad"}"><td>${ok ? "✔" : "✘"}</td><td><code>${esc(name)}</code></td><td>${esc(msg)}</td></tr>`).join("") + "</table>";
    if (reproducer) html += `<h3>Reproduce</h3><pre>${esc(reproducer)}</pre>`;
    el.innerHTML = html;
    window.scrollTo(0, 0);
  }

  // ------------------------------------------------------------------ routing
  function route() {
    const hash = decodeURIComponent(location.hash.slice(1));
    const view = hash.startsWith("cell=") ? "detail" : hash === "cells" ? "cells" : "matrix";
    if (hash.startsWith("source=")) {
      const s = hash.slice(7);
      if (sources.includes(s)) $("f-source").value = s;
    }
    for (const v of ["matrix", "cells", "detail"]) $("view-" + v).hidden = v !== view;
    $("filters").hidden = view === "detail";
    $("nav-matrix").classList.toggle("active", view === "matrix");
    $("nav-cells").classList.toggle("active", view === "cells");
    if (view === "detail") renderDetail(hash.slice(5));
    else if (view === "cells") renderCells();
    else renderMatrix();
  }
  function refresh() {
    showAll = false;
    if (!$("view-cells").hidden) renderCells(); else renderMatrix();
  }

  for (const s of sources) $("f-source").add(new Option(s, s));
  for (const id of ["f-source", "f-dtype", "f-verdict", "f-drift"]) $(id).addEventListener("change", refresh);
  $("f-text").addEventListener("input", refresh);
  $("f-frameworks").addEventListener("change", refresh);
  $("cells-more").addEventListener("click", () => { showAll = true; renderCells(); });
  window.addEventListener("hashchange", route);
  route();
  $("loading").hidden = true;
  document.body.dataset.ready = "1";  // for the browser test: the data is in and drawn
}
