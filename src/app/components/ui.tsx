import type { ReactNode } from 'react';

export function ProgressBar({ value, total, label, testId }: { value: number; total: number; label?: string; testId?: string }) {
  const pct = total > 0 ? Math.min(100, (100 * value) / total) : 0;
  return (
    <div className="progress" data-testid={testId} role="progressbar" aria-valuemin={0} aria-valuemax={total} aria-valuenow={value} aria-label={label}>
      <div className="progress-fill" style={{ width: `${pct}%` }} />
    </div>
  );
}

export function PanelHeader({ title, subtitle, actions }: { title: string; subtitle?: ReactNode; actions?: ReactNode }) {
  return (
    <header className="panel-header">
      <div>
        <h2>{title}</h2>
        {subtitle ? <p className="muted">{subtitle}</p> : null}
      </div>
      {actions ? <div className="panel-actions">{actions}</div> : null}
    </header>
  );
}

export function Card({ title, children, className, actions, testId }: { title?: string; children: ReactNode; className?: string; actions?: ReactNode; testId?: string }) {
  return (
    <section className={`card ${className ?? ''}`} data-testid={testId}>
      {title || actions ? (
        <div className="card-head">
          {title ? <h3>{title}</h3> : <span />}
          {actions}
        </div>
      ) : null}
      {children}
    </section>
  );
}

export function Segmented<T extends string>({ value, options, onChange, label, testId }: {
  value: T; options: { value: T; label: string; title?: string }[]; onChange(v: T): void; label: string; testId?: string;
}) {
  return (
    <div className="segmented" role="radiogroup" aria-label={label} data-testid={testId}>
      {options.map((o) => (
        <button key={o.value} type="button" role="radio" aria-checked={o.value === value} className={o.value === value ? 'on' : ''} title={o.title} onClick={() => onChange(o.value)}>
          {o.label}
        </button>
      ))}
    </div>
  );
}

export function Field({ label, hint, children }: { label: string; hint?: string; children: ReactNode }) {
  return (
    <label className="field">
      <span className="field-label">{label}</span>
      {children}
      {hint ? <span className="field-hint">{hint}</span> : null}
    </label>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <div className="empty">{children}</div>;
}
