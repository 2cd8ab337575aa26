import { useMemo } from 'react';
import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { chartRows, type LossPoint } from '../../lib/series';

const COLORS: Record<string, string> = { total: '#60a5fa', perceptual: '#f472b6', pixel: '#34d399', lncc: '#fbbf24' };
const NAMES: Record<string, string> = { total: 'total', perceptual: 'perceptual (VGG)', pixel: 'pixel MSE' };

export function LossChart({ points, smoothing }: { points: LossPoint[]; smoothing: number }) {
  const { rows, series } = useMemo(() => chartRows(points, smoothing), [points, smoothing]);
  // Two-part losses have terms on very different scales: the parts get their own axis.
  const twoAxes = series.length > 1;
  return (
    <div className="chart" data-testid="loss-chart" data-points={points.length}>
      <ResponsiveContainer width="100%" height={280}>
        <LineChart data={rows} margin={{ top: 8, right: twoAxes ? 8 : 24, bottom: 4, left: 0 }}>
          <CartesianGrid stroke="#253045" strokeDasharray="3 3" />
          <XAxis dataKey="step" stroke="#8b98b0" fontSize={12} tickLine={false} label={{ value: 'step', position: 'insideBottomRight', offset: -2, fill: '#8b98b0', fontSize: 11 }} />
          <YAxis yAxisId="total" stroke="#8b98b0" fontSize={12} tickLine={false} width={56} tickFormatter={(v: number) => v.toPrecision(3)} domain={['auto', 'auto']} />
          {twoAxes ? <YAxis yAxisId="parts" orientation="right" stroke="#8b98b0" fontSize={12} tickLine={false} width={56} tickFormatter={(v: number) => v.toPrecision(3)} domain={['auto', 'auto']} /> : null}
          <Tooltip contentStyle={{ background: '#121a2b', border: '1px solid #2a3650', borderRadius: 8, fontSize: 12 }} labelFormatter={(s) => `step ${s}`}
            formatter={(v, name) => [typeof v === 'number' ? v.toPrecision(4) : String(v), String(name)]} />
          <Legend wrapperStyle={{ fontSize: 12 }} />
          {series.map((s) => (
            <Line key={`${s}_raw`} yAxisId={s === 'total' ? 'total' : 'parts'} dataKey={s} stroke={COLORS[s] ?? '#a78bfa'} strokeOpacity={0.25} dot={false} isAnimationActive={false} legendType="none" name={`${NAMES[s] ?? s} (raw)`} strokeWidth={1} />
          ))}
          {series.map((s) => (
            <Line key={s} yAxisId={s === 'total' ? 'total' : 'parts'} dataKey={`${s}_smooth`} stroke={COLORS[s] ?? '#a78bfa'} dot={rows.length < 3} isAnimationActive={false} name={NAMES[s] ?? s} strokeWidth={2} />
          ))}
        </LineChart>
      </ResponsiveContainer>
    </div>
  );
}
