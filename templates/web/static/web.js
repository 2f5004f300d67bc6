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

// Redaction (删减处理): the player's current frame on a canvas, boxes drawn on it with the mouse
// in the video's own pixels (videoWidth x videoHeight), face proposals outlined until ticked.
document.addEventListener("DOMContentLoaded", () => {
  const canvas = document.querySelector("[data-frame]");
  const video = document.querySelector("video#player");
  const form = document.querySelector("#redact-form");
  if (!canvas || !video || !form) return;
  const ctx = canvas.getContext("2d");
  const field = (k) => form.querySelector(`[data-box="${k}"]`);
  const list = form.querySelector("[data-boxes]");
  const at = document.querySelector("[data-frame-at]");
  let drag = null;

  // "x,y,w,h@t0-t1" -> [x, y, w, h], or null when the frame on the canvas is outside t0-t1.
  const parse = (text) => {
    const m = String(text).match(/^(\d+),(\d+),(\d+),(\d+)(?:@([\d.]+)-([\d.]*))?$/);
    if (!m) return null;
    const t = video.currentTime;
    if (m[5] !== undefined && (t < parseFloat(m[5]) || (m[6] && t > parseFloat(m[6])))) return null;
    return m.slice(1, 5).map(Number);
  };
  const typed = () => {
    const v = ["x", "y", "w", "h"].map((k) => field(k).value);
    return v.every((s) => s !== "") ? v.map(Number) : null;
  };
  const outline = (b, colour, dashed) => {
    if (!b) return;
    ctx.save();
    ctx.lineWidth = Math.max(2, canvas.width / 320);
    ctx.strokeStyle = colour;
    ctx.setLineDash(dashed ? [8, 6] : []);
    ctx.strokeRect(b[0], b[1], b[2], b[3]);
    ctx.restore();
  };
  const redraw = () => {
    if (video.readyState >= 2 && video.videoWidth) {
      if (canvas.width !== video.videoWidth) canvas.width = video.videoWidth;
      if (canvas.height !== video.videoHeight) canvas.height = video.videoHeight;
      ctx.drawImage(video, 0, 0, canvas.width, canvas.height);
    }
    list.querySelectorAll("input[name=box]").forEach((box) => {
      const proposed = box.hasAttribute("data-proposal");
      outline(parse(box.value), box.checked ? "#e53935" : "#ffd600", proposed && !box.checked);
    });
    outline(typed(), "#00e5ff", false);
  };
  const grab = () => {
    redraw();
    if (at) at.textContent = "画面时刻：" + video.currentTime.toFixed(1) + " 秒";
  };
  ["loadeddata", "seeked", "pause"].forEach((e) => video.addEventListener(e, grab));
  if (video.readyState >= 2) grab();
  document.querySelector("[data-grab]")?.addEventListener("click", () => { video.pause(); grab(); });

  const point = (e) => {
    const r = canvas.getBoundingClientRect();
    const x = (e.clientX - r.left) * canvas.width / r.width;
    const y = (e.clientY - r.top) * canvas.height / r.height;
    return [Math.max(0, Math.min(canvas.width, Math.round(x))), Math.max(0, Math.min(canvas.height, Math.round(y)))];
  };
  const setBox = (a, b) => {
    const [x, y] = [Math.min(a[0], b[0]), Math.min(a[1], b[1])];
    const vals = { x, y, w: Math.abs(a[0] - b[0]), h: Math.abs(a[1] - b[1]) };
    Object.entries(vals).forEach(([k, v]) => { field(k).value = v; });
    redraw();
  };
  canvas.addEventListener("pointerdown", (e) => {
    drag = point(e);
    canvas.setPointerCapture(e.pointerId);
    e.preventDefault();
  });
  canvas.addEventListener("pointermove", (e) => { if (drag) setBox(drag, point(e)); });
  canvas.addEventListener("pointerup", (e) => { if (drag) setBox(drag, point(e)); drag = null; });

  form.querySelectorAll("[data-box]").forEach((input) => input.addEventListener("input", redraw));
  list.addEventListener("change", redraw);
  form.querySelector("[data-add-box]").addEventListener("click", () => {
    const b = typed();
    if (!b) return;
    const [t0, t1] = [field("t0").value, field("t1").value];
    const text = b.join(",") + (t0 || t1 ? `@${t0 || 0}-${t1}` : "");
    const li = document.createElement("li");
    const label = document.createElement("label");
    const tick = Object.assign(document.createElement("input"), { type: "checkbox", name: "box", value: text, checked: true });
    label.append(tick, " 遮挡框 ", Object.assign(document.createElement("span"), { className: "mono", textContent: text }));
    li.append(label);
    list.append(li);
    ["x", "y", "w", "h", "t0", "t1"].forEach((k) => { field(k).value = ""; });
    redraw();
  });
});
