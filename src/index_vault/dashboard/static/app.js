// The dashboard page: draws what the server's JSON says (every figure is computed there, from the chain) and
// sends through the injected EIP-1193 wallet only the transactions the server prepared. Nothing is loaded from
// anywhere but this server; text from the chain is set as text, never as HTML.

const $ = (id) => document.getElementById(id);
const state = { vault: null, account: null, view: null, days: 90 };

async function api(path, body) {
  const init = body ? { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) } : {};
  const response = await fetch(path, init);
  const data = await response.json();
  if (!response.ok) throw new Error(data.error || `HTTP ${response.status}`);
  return data;
}

function el(tag, text, attrs = {}) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) node.setAttribute(k, v);
  return node;
}

function setFigure(id, fig, fallback = "-") {
  const node = $(id);
  node.textContent = fig ? fig.text : fallback;
  if (fig) node.dataset.raw = fig.raw; else delete node.dataset.raw;
}

function rows(tableId, items, cells, empty) {
  const body = document.querySelector(`#${tableId} tbody`);
  body.replaceChildren();
  if (!items.length) {
    const tr = el("tr");
    tr.append(el("td", empty, { colspan: String(document.querySelectorAll(`#${tableId} th`).length), class: "sub" }));
    body.append(tr);
    return;
  }
  for (const item of items) body.append(cells(item));
}

function cell(fig, cls = "num") {
  const td = el("td", fig ? fig.text : "-", { class: cls });
  if (fig) td.dataset.raw = fig.raw;
  return td;
}

function when(ts) { return new Date(ts * 1000).toISOString().slice(0, 16).replace("T", " "); }

function drawView(v) {
  state.view = v;
  document.title = `${v.symbol} · index vault`;
  $("title").textContent = `${v.name} (${v.symbol})`;
  $("address").textContent = v.address;
  $("block").textContent = `block ${v.block}, ${v.time}, chain ${v.chain_id}`;
  setFigure("nav-per-share", v.nav_per_share, "unusable");
  setFigure("nav", v.nav, "unusable");
  $("nav-error").textContent = v.nav_error;
  setFigure("supply", v.supply);
  $("pause").textContent = v.pause_text;
  $("pause").dataset.paused = String(v.paused);
  setFigure("dex-price", v.dex.price, v.dex.pool ? "no price" : "no DEX pool");
  $("premium").textContent = v.dex.text;
  $("premium").className = v.dex.premium ? `sub ${v.dex.premium.label}` : "sub";
  if (v.dex.premium) $("premium").dataset.bps = String(v.dex.premium.bps_x100); else delete $("premium").dataset.bps;
  $("dex-pool").textContent = v.dex.pool_price ? `pool: 1 ${v.symbol} = ${v.dex.pool_price.text}` : "";
  $("rebalance").textContent = `${v.rebalance}; band ±${v.band.text}`;
  rows("composition", v.constituents, (c) => {
    const tr = el("tr", null, { "data-symbol": c.symbol });
    tr.append(el("td", c.symbol, { title: c.address }), cell(c.holding), cell(c.value), cell(c.weight, "num weight"),
      cell(c.target, "num target"), el("td", c.band, { class: "band" }), cell(c.price, "num price"),
      el("td", c.price_age ? c.price_age.text : "-", { class: "num age" }),
      el("td", c.status.word, { class: `status ${c.status.code === 0 ? "status-ok" : "status-bad"}`, title: c.status.meaning }));
    return tr;
  }, "no constituents");
  const f = v.fees;
  setFigure("fee-management", f.management);
  setFigure("fee-accrued", f.accrued);
  $("fee-bps").textContent = f.text;
  $("fee-recipient").textContent = f.recipient;
  setFigure("fee-recipient-balance", f.recipient_balance);
  $("cap").textContent = v.caps.text;
  $("cap-entry").textContent = v.caps.entry || "-";
  $("cap-exit").textContent = v.caps.exit || "-";
  $("governance-text").textContent = v.governance.text;
  rows("governance", v.governance.pending, (p) => {
    const tr = el("tr", null, { "data-id": String(p.id) });
    tr.append(el("td", p.id), el("td", p.function), el("td", p.target), el("td", p.time_left, { class: "time-left" }));
    return tr;
  }, v.governance.governor ? "nothing pending" : "no Governor recorded");
  rows("auctions", v.auctions, (a) => {
    const tr = el("tr");
    tr.append(el("td", a.id), el("td", `${a.remaining} for ${a.buy}`), el("td", a.price_text), el("td", when(a.ends)));
    return tr;
  }, "no live auction");
  rows("trades", v.trades, (t) => {
    const tr = el("tr", null, { "data-tx": t.tx });
    tr.append(el("td", when(t.timestamp)), el("td", t.kind), el("td", t.pair), el("td", t.sold, { class: "num" }),
      el("td", t.bought, { class: "num" }),
      el("td", t.shortfall_bps === null ? "-" : `${t.shortfall_bps.toFixed(2)} bps`, { class: "num" }),
      cell(t.profit, "num profit"),
      el("td", t.gas.toLocaleString("en-US"), { class: "num gas" }), el("td", t.who.slice(0, 10), { title: t.who }));
    tr.dataset.kind = t.kind;
    if (t.direction) { tr.dataset.direction = t.direction; tr.dataset.shares = t.shares; tr.dataset.quote = t.quote; }
    return tr;
  }, "no trades yet");
  $("base-asset").textContent = v.base_asset;
  for (const node of document.querySelectorAll(".zap-reason")) node.textContent = v.zap.text;
  for (const form of document.querySelectorAll("form[data-action^='zap-']")) {
    form.querySelector("button").disabled = !v.zap.address;
    const select = form.querySelector("select[name='token']");
    const tokens = v.zap.tokens || [];
    if (select.dataset.tokens !== tokens.join(",")) {
      select.replaceChildren(...tokens.map((t) => el("option", t, { value: t })));
      select.dataset.tokens = tokens.join(",");
      if (v.zap.default) select.value = v.zap.default;
    }
  }
  if (v.account) {
    setFigure("account-shares", v.account.shares);
    $("account-shares").textContent = `${v.account.shares.text} ${v.symbol} held`;
  } else $("account-shares").textContent = "";
}

function drawChart(history) {
  const box = $("chart");
  const points = history.points.filter((p) => p.nav_per_share !== null);
  const dex = history.points.filter((p) => p.dex_price !== null && p.dex_price !== undefined);
  box.replaceChildren();
  box.dataset.points = String(points.length);
  box.dataset.dexPoints = String(dex.length);
  $("chart-legend").hidden = !history.dex;
  const gaps = history.points.length - points.length;
  $("history-note").textContent = (points.length ? `${points.length} daily points rebuilt from the chain's history; the last is the vault's value_per_share now` : "no history yet")
    + (gaps ? `; ${gaps} day(s) without a NAV (${history.points.find((p) => p.nav_per_share === null).note})` : "")
    + (history.dex ? (dex.length ? `; the DEX price (dashed) from the pool's swaps at the quote's feed, ${dex.length} points since the pool opened` : "; the pool has no price in this range") : "");
  if (points.length < 2) return;
  const W = 1000, H = 240, L = 70, R = 12, T = 12, B = 28;
  const usd = (raw) => Number(BigInt(raw) / 10n ** 12n) / 1e6;
  const xs = points.map((p) => p.timestamp), ys = points.map((p) => usd(p.nav_per_share));
  const dxs = dex.map((p) => p.timestamp), dys = dex.map((p) => usd(p.dex_price));
  const x0 = Math.min(...xs, ...dxs), x1 = Math.max(...xs, ...dxs);
  const lo = Math.min(...ys, ...dys), hi = Math.max(...ys, ...dys);
  const pad = (hi - lo) * 0.1 || hi * 0.01 || 1;
  const y0 = lo - pad, y1 = hi + pad;
  const sx = (x) => L + ((x - x0) / (x1 - x0 || 1)) * (W - L - R);
  const sy = (y) => T + (1 - (y - y0) / (y1 - y0)) * (H - T - B);
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  svg.setAttribute("preserveAspectRatio", "none");
  const add = (tag, attrs, text) => {
    const n = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
    if (text !== undefined) n.textContent = text;
    svg.append(n);
  };
  for (const y of [lo, (lo + hi) / 2, hi]) {
    add("line", { x1: L, x2: W - R, y1: sy(y), y2: sy(y), class: "axis" });
    add("text", { x: L - 6, y: sy(y) + 4, "text-anchor": "end" }, `$${y.toFixed(y < 10 ? 4 : 2)}`);
  }
  add("text", { x: L, y: H - 8 }, when(x0).slice(0, 10));
  add("text", { x: W - R, y: H - 8, "text-anchor": "end" }, when(x1).slice(0, 10));
  add("polyline", { class: "line", points: points.map((p, i) => `${sx(xs[i]).toFixed(1)},${sy(ys[i]).toFixed(1)}`).join(" ") });
  if (dex.length) add("polyline", { class: "dex-line", points: dex.map((p, i) => `${sx(dxs[i]).toFixed(1)},${sy(dys[i]).toFixed(1)}`).join(" ") });
  box.append(svg);
}

async function load() {
  const account = state.account ? `?account=${state.account}` : "";
  const [view, history] = await Promise.allSettled([
    api(`/api/vault/${state.vault}${account}`),
    api(`/api/vault/${state.vault}/history?days=${state.days}`),
  ]);
  if (view.status === "fulfilled") drawView(view.value); else $("nav-error").textContent = view.reason.message;
  if (history.status === "fulfilled") drawChart(history.value); else $("history-note").textContent = history.reason.message;
}

function walletError(error) {
  if (error && error.code === 4001) return "you declined it in your wallet: nothing was sent";
  const data = error && error.data && (error.data.message || error.data.reason);
  return (data || (error && error.message) || String(error)).replace(/^execution reverted:?\s*/, "");
}

async function waitReceipt(hash) {
  for (let i = 0; i < 600; i++) {
    const receipt = await window.ethereum.request({ method: "eth_getTransactionReceipt", params: [hash] });
    if (receipt) return receipt;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`no receipt for ${hash} yet`);
}

async function act(form) {
  const action = form.dataset.action;
  $("action-error").textContent = ""; $("action-result").textContent = ""; $("action-plan").textContent = "";
  if (!state.account) { $("action-error").textContent = "connect a wallet first"; return; }
  const body = { action, account: state.account };
  for (const input of form.querySelectorAll("input, select")) body[input.name] = input.value.trim();
  document.body.dataset.busy = "1";
  try {
    for (let round = 0; round < 4; round++) {
      const plan = await api(`/api/vault/${state.vault}/prepare`, body);
      $("action-plan").textContent = `preview: ${plan.preview.join(", ")}` + (plan.bound.length ? `; bound: ${plan.bound.join(", ")}` : "");
      if (plan.cost && plan.cost.premium) $("action-plan").dataset.bps = String(plan.cost.premium.bps_x100); else delete $("action-plan").dataset.bps;
      if (plan.error) { $("action-error").textContent = plan.error; return; }
      for (const step of plan.steps) {
        $("action-result").textContent = `confirm in your wallet: ${step.label}`;
        const hash = await window.ethereum.request({ method: "eth_sendTransaction", params: [{ from: state.account, to: step.to, data: step.data, value: step.value, ...(step.gas ? { gas: step.gas } : {}) }] });
        const receipt = await waitReceipt(hash);
        if (receipt.status !== "0x1") {
          const { reason } = await api(`/api/vault/${state.vault}/replay`, { hash });
          $("action-error").textContent = `${step.label} reverted: ${reason}`;
          return;
        }
      }
      if (plan.final) {
        $("action-result").textContent = `done: ${plan.steps.map((s) => s.label).join(", ")}`;
        await load();
        return;
      }
    }
    $("action-error").textContent = "the approvals keep changing: try again";
  } catch (error) {
    $("action-error").textContent = walletError(error);
  } finally {
    delete document.body.dataset.busy;
  }
}

async function connect() {
  if (!window.ethereum) { $("wallet").textContent = "no wallet in this browser (an EIP-1193 provider, window.ethereum)"; return; }
  try {
    const [account] = await window.ethereum.request({ method: "eth_requestAccounts" });
    const chain = await window.ethereum.request({ method: "eth_chainId" });
    state.account = account;
    $("wallet").textContent = `${account} on chain ${parseInt(chain, 16)}`;
    if (state.view && parseInt(chain, 16) !== state.view.chain_id) $("wallet").textContent += ` (the vault is on chain ${state.view.chain_id}: switch networks)`;
    await load();
  } catch (error) {
    $("wallet").textContent = walletError(error);
  }
}

async function main() {
  const params = new URLSearchParams(location.search);
  state.days = Number(params.get("days") || 90);
  $("history-days").textContent = String(state.days);
  const vaults = await api("/api/vaults");
  const select = $("vault-select");
  for (const v of vaults) select.append(el("option", `${v.symbol} ${v.address.slice(0, 10)}… (${v.source})`, { value: v.address }));
  state.vault = params.get("vault") || (vaults[0] && vaults[0].address);
  if (!state.vault) { $("title").textContent = "no vault on this network"; return; }
  select.value = state.vault;
  select.addEventListener("change", () => { location.search = `?vault=${select.value}`; });
  $("connect").addEventListener("click", connect);
  if (window.ethereum && window.ethereum.on) window.ethereum.on("accountsChanged", (a) => { state.account = a[0] || null; load(); });
  for (const form of document.querySelectorAll("#actions form")) form.addEventListener("submit", (e) => { e.preventDefault(); act(form); });
  await load();
}

main().catch((error) => { $("nav-error").textContent = error.message; }).finally(() => {
  document.body.dataset.drawn = "1";
  performance.mark("drawn");
});
