import type { Box } from '../../worker/protocol';

export type Handle = 'move' | 'nw' | 'ne' | 'sw' | 'se';

const MIN = 8;

/** The box after dragging `handle` by (dx, dy), kept inside the image and at least 8 px wide and tall. */
export function clampBox(start: Box, handle: Handle, dx: number, dy: number, width: number, height: number): Box {
  let x0 = start.x;
  let y0 = start.y;
  let x1 = start.x + start.width;
  let y1 = start.y + start.height;
  if (handle === 'move') {
    const mx = Math.min(Math.max(dx, -x0), width - x1);
    const my = Math.min(Math.max(dy, -y0), height - y1);
    return { x: x0 + mx, y: y0 + my, width: start.width, height: start.height };
  }
  if (handle === 'nw' || handle === 'sw') x0 = Math.min(Math.max(0, x0 + dx), x1 - MIN);
  if (handle === 'ne' || handle === 'se') x1 = Math.max(Math.min(width, x1 + dx), x0 + MIN);
  if (handle === 'nw' || handle === 'ne') y0 = Math.min(Math.max(0, y0 + dy), y1 - MIN);
  if (handle === 'sw' || handle === 'se') y1 = Math.max(Math.min(height, y1 + dy), y0 + MIN);
  return { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
}

export function roundBox(b: Box): Box {
  return { x: Math.round(b.x), y: Math.round(b.y), width: Math.round(b.width), height: Math.round(b.height) };
}
