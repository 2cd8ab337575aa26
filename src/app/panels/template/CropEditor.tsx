import { useRef } from 'react';
import type { Box } from '../../worker/protocol';
import { clampBox, type Handle } from './crop';

/**
 * The mean image with the crop box drawn over it. Drag inside the box to move
 * it, drag a corner to resize; coordinates are the mean image's pixels.
 */
export function CropEditor({ url, width, height, box, lungBox, onChange }: {
  url: string; width: number; height: number; box: Box; lungBox?: Box; onChange(b: Box): void;
}) {
  const svg = useRef<SVGSVGElement>(null);
  const drag = useRef<{ handle: Handle; x: number; y: number; start: Box } | null>(null);

  const toImage = (e: React.PointerEvent) => {
    const r = svg.current!.getBoundingClientRect();
    return { x: ((e.clientX - r.left) / r.width) * width, y: ((e.clientY - r.top) / r.height) * height };
  };
  const down = (handle: Handle) => (e: React.PointerEvent) => {
    e.stopPropagation();
    (e.target as Element).setPointerCapture(e.pointerId);
    const p = toImage(e);
    drag.current = { handle, x: p.x, y: p.y, start: box };
  };
  const move = (e: React.PointerEvent) => {
    const d = drag.current;
    if (!d) return;
    const p = toImage(e);
    onChange(clampBox(d.start, d.handle, p.x - d.x, p.y - d.y, width, height));
  };
  const up = () => { drag.current = null; };
  const hs = Math.max(4, width / 40);
  const corners: [Handle, number, number][] = [
    ['nw', box.x, box.y], ['ne', box.x + box.width, box.y], ['sw', box.x, box.y + box.height], ['se', box.x + box.width, box.y + box.height],
  ];
  return (
    <svg ref={svg} className="crop-editor" viewBox={`0 0 ${width} ${height}`} onPointerMove={move} onPointerUp={up} onPointerCancel={up} data-testid="crop-editor">
      <image href={url} x={0} y={0} width={width} height={height} preserveAspectRatio="none" />
      <path d={`M0,0H${width}V${height}H0Z M${box.x},${box.y}v${box.height}h${box.width}v${-box.height}Z`} fill="rgba(5,10,20,0.55)" fillRule="evenodd" />
      {lungBox ? <rect x={lungBox.x} y={lungBox.y} width={lungBox.width} height={lungBox.height} fill="none" stroke="#7dd3fc" strokeDasharray="4 3" strokeWidth={1} vectorEffect="non-scaling-stroke" /> : null}
      <rect x={box.x} y={box.y} width={box.width} height={box.height} fill="transparent" stroke="#fbbf24" strokeWidth={2} vectorEffect="non-scaling-stroke" style={{ cursor: 'move' }} onPointerDown={down('move')} />
      {corners.map(([h, x, y]) => (
        <rect key={h} x={x - hs / 2} y={y - hs / 2} width={hs} height={hs} fill="#fbbf24" style={{ cursor: `${h}-resize` }} onPointerDown={down(h)} />
      ))}
    </svg>
  );
}
