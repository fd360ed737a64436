// The explorer's script: steps through the backward (or forward) pass of the graph whose
// numbers are in #explorer-data, lighting up the drawn nodes (g.node[data-key]).
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("explorer-data").textContent);
  const $ = (selector) => document.querySelector(selector);
  const nodes = {};  // key -> the drawn <g> of that node
  document.querySelectorAll("g.node[data-key]").forEach((g) => { nodes[g.dataset.key] = g; });

  // 4 significant digits, without trailing zeros (in the mantissa only: 1.5e-10, not 1.5e-1);
  // inf, -inf and nan come as strings
  function fmt(v) {
    if (typeof v === "string") return v;
    const [mantissa, exponent] = Number(v).toPrecision(4).split("e");
    const short = mantissa.includes(".") ? mantissa.replace(/\.?0+$/, "") : mantissa;
    return exponent ? `${short}e${exponent}` : short;
  }
  const esc = (text) => String(text).replace(/[&<>]/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;"}[c]));

  // --- the explain table and the leaves, built once -------------------------------------
  const tbody = $("#explain tbody");
  data.rows.forEach((row, i) => {
    const tr = document.createElement("tr");
    tr.dataset.row = i;
    tr.innerHTML = [row.step, `${row.result} (${row.op})`, row.input, row.upstream, row.local,
                    row.contribution, row.gathered].map((c) => `<td>${esc(c)}</td>`).join("");
    tr.addEventListener("click", () => explorer.go(row.step));
    tbody.appendChild(tr);
  });
  const leafBody = $("#leaves tbody");
  data.leaves.forEach((leaf) => {
    const tr = document.createElement("tr");
    tr.innerHTML = `<td>${esc(leaf.name)}</td><td class="leaf-grad pending" data-key="${leaf.key}">?</td>`;
    leafBody.appendChild(tr);
  });

  // --- a tensor's numbers: a table, or statistics and a heat map --------------------------
  function numbers(box, summary) {
    box.innerHTML = "";
    if (!summary) { box.textContent = "-"; return; }
    if (summary.table) {
      box.innerHTML = "<table>" + summary.table.map((row) => "<tr>" +
        row.map((v) => `<td>${fmt(v)}</td>`).join("") + "</tr>").join("") + "</table>";
      return;
    }
    const s = summary.stats;
    box.innerHTML = `<div class="stats">${summary.size} numbers: min ${fmt(s.min)}  mean ` +
      `${fmt(s.mean)}  max ${fmt(s.max)}  norm ${fmt(s.norm)}</div>`;
    const heat = summary.heat, rows = heat.length, cols = heat[0].length;
    const canvas = document.createElement("canvas");
    canvas.className = "heatmap"; canvas.width = cols; canvas.height = rows;
    const ctx = canvas.getContext("2d");
    let top = 0;
    const bad = (v) => typeof v === "string";  // inf or nan: drawn black
    heat.forEach((row) => row.forEach((v) => { if (!bad(v)) top = Math.max(top, Math.abs(v)); }));
    heat.forEach((row, r) => row.forEach((v, c) => {
      const t = bad(v) || top === 0 ? 0 : v / top;  // -1 blue, 0 white, +1 red
      const shade = Math.round(255 * (1 - Math.abs(t)));
      ctx.fillStyle = bad(v) ? "#000" : t >= 0 ? `rgb(255,${shade},${shade})` : `rgb(${shade},${shade},255)`;
      ctx.fillRect(c, r, 1, 1);
    }));
    box.appendChild(canvas);
  }

  // --- the side panel: the clicked node ---------------------------------------------------
  let selected = null;
  function show(key) {
    const node = data.nodes[key];
    if (!node) return;
    if (selected && nodes[selected]) nodes[selected].classList.remove("selected");
    selected = key;
    if (nodes[key]) nodes[key].classList.add("selected");
    $("#panel-title").textContent = node.label;
    const meta = [node.kind === "op" ? "an op's result" : node.kind];
    if (node.shape) meta.push(`shape (${node.shape.join(", ")}${node.shape.length === 1 ? "," : ""}) ${node.dtype}`);
    if (node.created_at) meta.push(`made at ${node.created_at}`);
    $("#panel-meta").textContent = meta.join("\n");
    $("#panel-formula").textContent = (node.formulas || []).join("\n");
    numbers($("#panel-value"), node.value);
    const known = explorer.mode === "forward" || node.grad_step === null ||
                  node.grad_step === undefined || node.grad_step <= explorer.step;
    if (node.grad && known) numbers($("#panel-grad"), node.grad);
    else $("#panel-grad").textContent = node.grad ? `complete after step ${node.grad_step}` : "-";
  }
  Object.entries(nodes).forEach(([key, g]) => g.addEventListener("click", () => show(key)));

  // --- stepping ---------------------------------------------------------------------------
  const explorer = {
    data, step: 0, mode: "backward", timer: null,
    total() { return this.mode === "backward" ? data.steps.length : data.forward.length; },
    next() { this.go(this.step + 1); },
    prev() { this.go(this.step - 1); },
    reset() { this.pause(); this.go(0); },
    pause() { clearInterval(this.timer); this.timer = null; $("#play").innerHTML = "&#x25B6; play"; },
    play() {
      if (this.timer) { this.pause(); return; }
      if (this.step >= this.total()) this.go(0);
      $("#play").innerHTML = "&#x23F8; pause";
      this.timer = setInterval(() => {
        if (this.step >= this.total()) this.pause(); else this.next();
      }, 700);
    },
    setMode(mode) {
      this.pause();
      this.mode = mode;
      $("#mode-backward").classList.toggle("active", mode === "backward");
      $("#mode-forward").classList.toggle("active", mode === "forward");
      this.go(0);
    },
    go(k) {
      this.step = Math.max(0, Math.min(k, this.total()));
      Object.values(nodes).forEach((g) => g.classList.remove("current", "done", "unseen"));
      if (this.mode === "backward") this.drawBackward(); else this.drawForward();
      $("#step-label").textContent = `step ${this.step} of ${this.total()}`;
      if (selected) show(selected);
    },
    drawBackward() {
      const k = this.step, step = data.steps[k - 1];
      data.steps.slice(0, k).forEach((s) => nodes[s.node] && nodes[s.node].classList.add("done"));
      if (step && nodes[step.node]) {
        nodes[step.node].classList.remove("done");
        nodes[step.node].classList.add("current");
      }
      document.querySelectorAll("#explain tr[data-row]").forEach((tr) => {
        const row = data.rows[tr.dataset.row];
        tr.classList.toggle("current", row.step === k);
        tr.classList.toggle("done", row.step < k);
      });
      const current = document.querySelector("#explain tr.current");
      if (current) current.scrollIntoView({block: "nearest"});
      const box = $("#contributions");
      box.innerHTML = "";
      if (!step) {
        $("#now-title").textContent = k === 0 ? "Press next (or \u2192) to run backward one op at a time"
          : "Backward is done: every leaf holds its gradient";
      } else {
        const first = data.rows[step.rows[0]];
        $("#now-title").textContent = `Step ${k}: ${first.result} (${first.op}) sends its gradient to its inputs`;
        step.rows.forEach((i) => {
          const row = data.rows[i], div = document.createElement("div");
          div.className = "contribution";
          div.dataset.row = i;
          const received = row.of > 1 ? ` <span class="received">(${row.received} of ${row.of} contributions received)</span>` : "";
          div.innerHTML = `${esc(row.input)}: upstream ${esc(row.upstream)} \u00d7 local ${esc(row.local)} ` +
            `= contribution ${esc(row.contribution)}; gathered ${esc(row.gathered)}${received}`;
          box.appendChild(div);
        });
      }
      data.leaves.forEach((leaf) => {
        const cell = document.querySelector(`.leaf-grad[data-key="${leaf.key}"]`);
        const complete = leaf.step !== null && leaf.step <= k;
        cell.textContent = complete ? leaf.grad : "?";
        cell.classList.toggle("pending", !complete);
      });
    },
    drawForward() {
      const k = this.step, seen = new Set(data.forward.slice(0, k).map((f) => f.node));
      Object.entries(nodes).forEach(([key, g]) => {
        const kind = (data.nodes[key] || {}).kind;
        if ((kind === "op" || kind === "folded" || kind === "output") && !seen.has(key) &&
            !(kind === "output" && k === this.total())) g.classList.add("unseen");
      });
      const entry = data.forward[k - 1];
      if (entry && nodes[entry.node]) nodes[entry.node].classList.add("current");
      document.querySelectorAll("#explain tr[data-row]").forEach((tr) => tr.classList.remove("current", "done"));
      $("#now-title").textContent = entry ? `Forward, op ${k}: ${entry.line}` : "Press next to run forward one op at a time";
      $("#contributions").innerHTML = "";
      data.leaves.forEach((leaf) => {
        const cell = document.querySelector(`.leaf-grad[data-key="${leaf.key}"]`);
        cell.textContent = "?"; cell.classList.add("pending");
      });
    },
  };
  window.explorer = explorer;

  $("#next").addEventListener("click", () => explorer.next());
  $("#prev").addEventListener("click", () => explorer.prev());
  $("#play").addEventListener("click", () => explorer.play());
  $("#reset").addEventListener("click", () => explorer.reset());
  $("#mode-backward").addEventListener("click", () => explorer.setMode("backward"));
  $("#mode-forward").addEventListener("click", () => explorer.setMode("forward"));
  $("#zoom").addEventListener("click", () => {
    const full = $("#graph").classList.toggle("full");
    $("#zoom").textContent = full ? "fit to width" : "full size";
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "ArrowRight") { explorer.next(); event.preventDefault(); }
    else if (event.key === "ArrowLeft") { explorer.prev(); event.preventDefault(); }
    else if (event.key === " ") { explorer.play(); event.preventDefault(); }
  });
  // a link may name a step: backward.html#step=3, or #forward=2
  const wanted = /^#(step|forward)=(\d+)$/.exec(location.hash);
  if (wanted && wanted[1] === "forward") explorer.setMode("forward");
  explorer.go(wanted ? Number(wanted[2]) : 0);
})();
