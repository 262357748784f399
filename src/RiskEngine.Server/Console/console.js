// The support console: looks an account up through the server's own API with the agent's key, shows its status, the
// freeze reason in words, the case and the timeline, and unfreezes or holds it. Everything the API returns is shown
// with textContent, never as HTML (account events carry text people typed). The key stays in this tab's sessionStorage.
"use strict";

const text = {
  en: {
    title: "RiskEngine support console", language: "Language", apiKey: "API key (support role)", agent: "Your agent id",
    account: "Account id", find: "Look up", accountHeading: "Account", status: "Status", reason: "Reason",
    frozenAt: "Frozen at", unfreezesAt: "Unfreezes by itself at", selfService: "User can unfreeze it",
    lockedUntil: "Sign-in locked until", totp: "Two-factor",
    case: "Case", caseWhat: "What happened", caseAmount: "Amount", caseCountry: "Country", caseAt: "When", caseRule: "Rule",
    actionReason: "Reason for the action (kept in the audit log)", unfreeze: "Unfreeze", hold: "Hold (freeze)",
    timeline: "Timeline", supportLog: "Support log", when: "When", event: "Event", outcome: "Outcome", reasons: "Reasons",
    accountEvents: "Account events", by: "By", key: "Key", action: "Action", frozen: "Frozen", active: "Active", yes: "yes", no: "no",
    enrolled: "enrolled", notEnrolled: "not enrolled", none: "—", loading: "Looking up…", notFound: "No such account.",
    unauthorized: "The API key was refused.", forbidden: "This key has no support role.", needKey: "Paste your API key.",
    needReason: "Give a reason for the action.", needAgent: "Give your agent id.", unfrozenDone: "Account unfrozen.",
    heldDone: "Account put on hold.", failed: "The server answered", unreachable: "The server cannot be reached.",
    transaction: "transaction", login: "sign-in", limit: "limit change", unfreezeEvent: "unfreeze", support: "support action",
    allow: "allow", deny: "deny", challenge: "challenge", freeze: "freeze",
    "account.frozen": "frozen", "account.unfrozen": "unfrozen", "support.hold": "hold", "totp.reset": "two-factor reset",
  },
  "zh-CN": {
    title: "RiskEngine 客服控制台", language: "语言", apiKey: "API 密钥(客服角色)", agent: "您的客服编号",
    account: "账户编号", find: "查询", accountHeading: "账户", status: "状态", reason: "原因",
    frozenAt: "冻结时间", unfreezesAt: "自动解冻时间", selfService: "用户可自行解冻",
    lockedUntil: "登录锁定至", totp: "双重验证",
    case: "案情", caseWhat: "发生了什么", caseAmount: "金额", caseCountry: "国家/地区", caseAt: "时间", caseRule: "规则",
    actionReason: "操作原因(记入审计日志)", unfreeze: "解冻", hold: "冻结(人工保留)",
    timeline: "时间线", supportLog: "客服记录", when: "时间", event: "事件", outcome: "结果", reasons: "原因",
    accountEvents: "账户事件", by: "操作人", key: "密钥", action: "操作", frozen: "已冻结", active: "正常", yes: "是", no: "否",
    enrolled: "已绑定", notEnrolled: "未绑定", none: "—", loading: "查询中…", notFound: "没有这个账户。",
    unauthorized: "API 密钥被拒绝。", forbidden: "此密钥没有客服角色。", needKey: "请粘贴您的 API 密钥。",
    needReason: "请填写操作原因。", needAgent: "请填写您的客服编号。", unfrozenDone: "账户已解冻。",
    heldDone: "账户已冻结。", failed: "服务器返回", unreachable: "无法连接服务器。",
    transaction: "交易", login: "登录", limit: "限额变更", unfreezeEvent: "解冻", support: "客服操作",
    allow: "通过", deny: "拒绝", challenge: "需验证", freeze: "冻结",
    "account.frozen": "已冻结", "account.unfrozen": "已解冻", "support.hold": "人工冻结", "totp.reset": "重置双重验证",
  },
};

let lang = sessionStorage.getItem("console.lang") || ((navigator.language || "").startsWith("zh") ? "zh-CN" : "en");
if (!text[lang]) lang = "en";
let current = null; // the account last looked up: what the action buttons act on
let last = null;    // its status and history, re-rendered when the language changes

const t = key => (text[lang] && text[lang][key]) || text.en[key] || key;
const word = key => (text[lang] && text[lang][key]) || (text.en[key] ? t(key) : key); // a wire word, translated when known
const $ = id => document.getElementById(id);
const orNone = v => (v === undefined || v === null || v === "") ? t("none") : String(v);

function translate() {
  document.documentElement.lang = lang;
  $("language").value = lang;
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
}

let said = null; // the key of the message shown, so that it follows a change of language

function say(message, error, key) {
  said = key ? { key, error } : null;
  $("message").textContent = message;
  $("message").className = error ? "error" : "";
}

const sayKey = (key, error) => say(t(key), error, key);

async function api(method, path, body) {
  const headers = { "Authorization": "Bearer " + $("key").value.trim(), "Accept": "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: "no-store" });
  } catch {
    throw new Error(t("unreachable"));
  }
  let json = null;
  try { json = await response.json(); } catch { /* empty or not JSON */ }
  if (response.ok) return json;
  if (response.status === 401) throw new Error(t("unauthorized"));
  if (response.status === 403) throw new Error(t("forbidden"));
  if (response.status === 404) throw new Error(t("notFound"));
  const detail = json && (json.detail || json.title) ? ": " + (json.detail || json.title) : "";
  throw new Error(t("failed") + " " + response.status + detail);
}

function row(table, cells) {
  const tr = document.createElement("tr");
  for (const c of cells) {
    const td = document.createElement("td");
    td.textContent = orNone(c);
    tr.appendChild(td);
  }
  $(table).querySelector("tbody").appendChild(tr);
}

// The freeze reason in words in the chosen language (the policy's message for the code), with the code beside it.
function reasonText(code, words) {
  if (!code) return t("none");
  const w = words && (words[lang] || words.en);
  return w && w !== code ? w + " (" + code + ")" : code;
}

function amountText(c) {
  if (c.amount === undefined || c.amount === null) return t("none");
  return String(c.amount) + (c.currency ? " " + c.currency : "");
}

function eventType(type) {
  return type === "unfreeze" ? t("unfreezeEvent") : word(type);
}

function show(account, history) {
  $("details").hidden = false;
  $("accountId").textContent = account.account;
  $("status").textContent = account.frozen ? t("frozen") : t("active");
  $("status").className = account.frozen ? "frozen" : "active";
  $("reason").textContent = account.frozen ? reasonText(account.reason, account.reasonText) : t("none");
  $("frozenAt").textContent = orNone(account.frozenAt);
  $("unfreezesAt").textContent = orNone(account.unfreezesAt);
  $("selfService").textContent = account.frozen ? (account.selfService ? t("yes") : t("no")) : t("none");
  $("lockedUntil").textContent = orNone(account.lockedUntil);
  $("totp").textContent = account.totpEnrolled ? t("enrolled") : t("notEnrolled");

  const c = account.frozen ? account.case : null;
  $("caseSection").hidden = !c;
  if (c) {
    $("caseWhat").textContent = eventType(c.type) + " " + c.event;
    $("caseAmount").textContent = amountText(c);
    $("caseCountry").textContent = orNone(c.country);
    $("caseAt").textContent = orNone(c.at);
    $("caseRule").textContent = c.rule ? c.rule + " → " + c.reason : orNone(c.reason);
  }
  $("unfreeze").disabled = !account.frozen;
  $("hold").disabled = !!account.frozen;

  for (const id of ["timeline", "supportLog"]) $(id).querySelector("tbody").replaceChildren();
  for (const d of Array.isArray(history) ? history : []) {
    const reasons = (d.reasons || []).map(r => r.message ? r.code + ": " + r.message : r.code).join("; ");
    const events = (d.events || []).map(e => word(e.type) + (e.reason ? " " + e.reason : "") + (e.by ? " · " + e.by : "") + (e.note ? " · " + e.note : "")).join("; ");
    row("timeline", [d.at, d.event, word(d.outcome) + (d.duplicate ? " (duplicate)" : ""), reasons, events]);
  }
  // "by" is what the agent said; "key" is the API key that did it (none: the CLI, or a stream's unfreeze event).
  for (const s of account.supportLog || []) row("supportLog", [s.at, s.by, s.key, word(s.action), s.reason]);
}

async function lookup() {
  const id = $("account").value.trim();
  if (!id) return;
  if (!$("key").value.trim()) return sayKey("needKey", true);
  sayKey("loading");
  try {
    const path = "/v1/accounts/" + encodeURIComponent(id);
    const [account, history] = await Promise.all([api("GET", path), api("GET", path + "/history")]);
    current = account.account;
    last = { account, history };
    show(account, history);
    say("");
  } catch (e) {
    current = null;
    last = null;
    $("details").hidden = true;
    say(e.message, true);
  }
}

async function act(kind) {
  const by = $("agent").value.trim(), reason = $("actionReason").value.trim();
  if (!current) return;
  if (!by) return sayKey("needAgent", true);
  if (!reason) return sayKey("needReason", true);
  for (const b of ["unfreeze", "hold"]) $(b).disabled = true;
  try {
    await api("POST", "/v1/accounts/" + encodeURIComponent(current) + "/" + kind, { by, reason });
    $("actionReason").value = "";
    $("account").value = current;
    await lookup();
    sayKey(kind === "unfreeze" ? "unfrozenDone" : "heldDone");
  } catch (e) {
    if (last) show(last.account, last.history);
    say(e.message, true);
  }
}

document.addEventListener("DOMContentLoaded", () => {
  translate();
  $("key").value = sessionStorage.getItem("console.key") || "";
  $("agent").value = sessionStorage.getItem("console.agent") || "";
  $("key").addEventListener("input", () => sessionStorage.setItem("console.key", $("key").value.trim()));
  $("agent").addEventListener("input", () => sessionStorage.setItem("console.agent", $("agent").value.trim()));
  $("language").addEventListener("change", () => {
    lang = $("language").value;
    sessionStorage.setItem("console.lang", lang);
    translate();
    if (last) show(last.account, last.history);
    if (said) sayKey(said.key, said.error);
  });
  $("signin").addEventListener("submit", e => e.preventDefault());
  $("lookup").addEventListener("submit", e => { e.preventDefault(); lookup(); });
  $("unfreeze").addEventListener("click", () => act("unfreeze"));
  $("hold").addEventListener("click", () => act("freeze"));
  document.body.dataset.ready = "true"; // the page's script ran (browser tests wait for it)
});
