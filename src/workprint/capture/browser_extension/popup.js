chrome.runtime.sendMessage({status: true}).then((s) => {
  const status = document.getElementById("status");
  status.className = s.connected ? "on" : "off";
  const noHost = /not found|forbidden/i.test(s.lastError || "");
  status.textContent = s.connected ? "Connected to the workprint recorder." :
    noHost ? "The workprint host is not installed for this browser: run `workprint extension install`, then restart the browser." :
    "The workprint recorder is not running: events are kept here until it is (at most 500).";
  document.getElementById("detail").textContent = `${s.sent} sent, ${s.buffered} waiting, ${s.dropped} dropped`;
});
