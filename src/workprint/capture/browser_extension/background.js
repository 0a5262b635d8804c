// workprint service worker: forwards page events to the local recorder over 127.0.0.1 with the
// per-install token, adds navigation and tab events, and never blocks a page. When the recorder
// is not running it keeps a bounded buffer and says so in the popup.
const MAX_BUFFER = 500;
let config = null;
let buffer = [];
let state = {connected: false, dropped: 0, sent: 0, lastError: ""};

async function loadConfig() {
  if (!config) config = await (await fetch(chrome.runtime.getURL("config.json"))).json();
  return config;
}

function queue(event, tab) {
  if (tab && tab.incognito) return;  // never from incognito windows
  event.tab = tab ? tab.id : null;
  buffer.push(event);
  if (buffer.length > MAX_BUFFER) { state.dropped += buffer.length - MAX_BUFFER; buffer = buffer.slice(-MAX_BUFFER); }
  flush();
}

let flushing = false;
async function flush() {
  if (flushing || !buffer.length) return;
  flushing = true;
  try {
    const {port, token} = await loadConfig();
    const batch = buffer.slice(0, 100);
    const reply = await fetch(`http://127.0.0.1:${port}/events`, {
      method: "POST", headers: {"Content-Type": "application/json", "X-Workprint-Token": token},
      body: JSON.stringify({events: batch})});
    if (!reply.ok) throw new Error(`recorder answered ${reply.status}`);
    buffer = buffer.slice(batch.length);
    state.connected = true; state.sent += batch.length; state.lastError = "";
  } catch (err) {
    state.connected = false; state.lastError = String(err);
  } finally {
    flushing = false;
    chrome.storage.session.set({workprint: {...state, buffered: buffer.length}});
    if (buffer.length && state.connected) flush();
  }
}
setInterval(flush, 2000);

chrome.runtime.onMessage.addListener((message, sender) => {
  if (message && message.workprint) queue(message.workprint, sender.tab);
  if (message && message.status) return Promise.resolve({...state, buffered: buffer.length});
});

function navigate(details, kind) {
  if (details.frameId !== 0) return;
  chrome.tabs.get(details.tabId).then((tab) => queue({type: "navigate", how: kind, url: details.url, ts: Date.now()}, tab)).catch(() => {});
}
chrome.webNavigation.onCommitted.addListener((d) => navigate(d, "load"));
chrome.webNavigation.onHistoryStateUpdated.addListener((d) => navigate(d, "history"));
chrome.webNavigation.onReferenceFragmentUpdated.addListener((d) => navigate(d, "fragment"));
chrome.tabs.onActivated.addListener(({tabId}) => {
  chrome.tabs.get(tabId).then((tab) => queue({type: "tab", url: tab.url || "", ts: Date.now()}, tab)).catch(() => {});
});
