// The explorer's 2-D item map on a canvas: every item as a dot coloured by its concept (drawn once into an
// offscreen layer), then the history (rings), the recommendations (diamonds) and the traversal (a path).

const PAD = 14;

/** Where map coordinates land on the canvas (CSS pixels): the [0, 1] square fitted and centred. */
function frame(canvas, map) {
  const W = canvas.clientWidth || canvas.width;
  const H = Math.round(W * 0.62);
  let sx = 0;
  let sy = 0;
  for (let i = 0; i < map.x.length; i++) {
    sx = Math.max(sx, map.x[i]);
    sy = Math.max(sy, map.y[i]);
  }
  const s = Math.min((W - 2 * PAD) / (sx || 1), (H - 2 * PAD) / (sy || 1));
  const ox = (W - s * sx) / 2;
  const oy = (H - s * sy) / 2;
  return { W, H, px: (i) => ox + s * map.x[i], py: (i) => oy + s * map.y[i] };
}

function css(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || '#000';
}

/**
 * Draws the map; `colour(k)` is concept k's colour, `marks` holds item indices (`history`, `recs`,
 * `walk`) and the `base` layer of an earlier call (reused while the size holds). Returns the base layer
 * to pass next time.
 */
export function drawMap(canvas, map, colour, marks) {
  const f = frame(canvas, map);
  const dpr = window.devicePixelRatio || 1;
  if (canvas.width !== Math.round(f.W * dpr) || canvas.height !== Math.round(f.H * dpr)) {
    canvas.width = Math.round(f.W * dpr);
    canvas.height = Math.round(f.H * dpr);
  }
  canvas.style.height = `${f.H}px`;
  let base = marks.base;
  if (!base || base.width !== canvas.width || base.height !== canvas.height) {
    base = document.createElement('canvas');
    base.width = canvas.width;
    base.height = canvas.height;
    const b = base.getContext('2d');
    b.scale(dpr, dpr);
    // Placed items first and fainter, the items t-SNE embedded on top.
    for (const pass of [0, 1]) {
      b.globalAlpha = pass ? 0.8 : 0.35;
      for (let i = 0; i < map.x.length; i++) {
        if (map.embedded[i] !== pass) continue;
        b.fillStyle = colour(map.concept[i]);
        b.beginPath();
        b.arc(f.px(i), f.py(i), pass ? 2.4 : 1.5, 0, 2 * Math.PI);
        b.fill();
      }
    }
  }
  const ctx = canvas.getContext('2d');
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.drawImage(base, 0, 0);
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  const ink = css('--ink');
  const paper = css('--panel');
  // traversal: a path through its items, numbered
  if (marks.walk.length > 0) {
    ctx.strokeStyle = ink;
    ctx.lineWidth = 1.5;
    ctx.setLineDash([4, 3]);
    ctx.beginPath();
    marks.walk.forEach((i, s) => {
      if (s === 0) ctx.moveTo(f.px(i), f.py(i));
      else ctx.lineTo(f.px(i), f.py(i));
    });
    ctx.stroke();
    ctx.setLineDash([]);
    ctx.font = '600 10px system-ui, sans-serif';
    ctx.textAlign = 'center';
    ctx.textBaseline = 'middle';
    marks.walk.forEach((i, s) => {
      ctx.fillStyle = ink;
      ctx.beginPath();
      ctx.arc(f.px(i), f.py(i), 7, 0, 2 * Math.PI);
      ctx.fill();
      ctx.fillStyle = paper;
      ctx.fillText(String(s + 1), f.px(i), f.py(i) + 0.5);
    });
  }
  // recommendations: diamonds in the concept's colour
  for (const i of marks.recs) {
    const x = f.px(i);
    const y = f.py(i);
    ctx.fillStyle = colour(map.concept[i]);
    ctx.strokeStyle = ink;
    ctx.lineWidth = 1.3;
    ctx.beginPath();
    ctx.moveTo(x, y - 6);
    ctx.lineTo(x + 6, y);
    ctx.lineTo(x, y + 6);
    ctx.lineTo(x - 6, y);
    ctx.closePath();
    ctx.fill();
    ctx.stroke();
  }
  // history: rings
  for (const i of marks.history) {
    ctx.strokeStyle = paper;
    ctx.lineWidth = 5;
    ctx.beginPath();
    ctx.arc(f.px(i), f.py(i), 6.5, 0, 2 * Math.PI);
    ctx.stroke();
    ctx.strokeStyle = ink;
    ctx.lineWidth = 2.5;
    ctx.stroke();
  }
  return base;
}

/** The item nearest to a point (CSS pixels) within 8 px, or −1. */
export function nearestPoint(canvas, map, x, y) {
  const f = frame(canvas, map);
  let best = -1;
  let bd = 64;
  for (let i = 0; i < map.x.length; i++) {
    const d = (f.px(i) - x) ** 2 + (f.py(i) - y) ** 2;
    if (d < bd) {
      bd = d;
      best = i;
    }
  }
  return best;
}
