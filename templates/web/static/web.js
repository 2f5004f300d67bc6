// zfjl review pages: the few behaviours plain HTML lacks. No build step, no other script.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  // After login: on to the search (a same-site navigation, so the Strict cookie goes along).
  const go = document.querySelector("[data-go]");
  if (go) window.location.replace(go.dataset.go);

  // The case box in the top bar: /cases/<id>.
  const caseGo = document.querySelector("[data-case-go]");
  if (caseGo) caseGo.addEventListener("submit", (e) => {
    e.preventDefault();
    const id = caseGo.querySelector("input").value.trim();
    if (id) window.location.href = "/cases/" + encodeURIComponent(id);
  });

  // A player opened at #t=SECONDS starts there (the case timeline links so).
  const player = document.querySelector("[data-seek]");
  const m = window.location.hash.match(/t=([0-9.]+)/);
  if (player && m) {
    const t = parseFloat(m[1]);
    const seek = () => { player.currentTime = t; };
    if (player.readyState >= 1) seek(); else player.addEventListener("loadedmetadata", seek, { once: true });
  }

  // Timeline: a click on a recording's bar plays it from that moment.
  document.querySelectorAll("a.tl-rec").forEach((bar) => {
    bar.addEventListener("click", (e) => {
      const box = bar.getBoundingClientRect();
      const seconds = parseFloat(bar.dataset.seconds || "0");
      const at = Math.max(0, Math.min(1, (e.clientX - box.left) / box.width)) * seconds;
      e.preventDefault();
      window.location.href = bar.getAttribute("href").replace(/#.*$/, "") + "#t=" + at.toFixed(1);
    });
  });
});
