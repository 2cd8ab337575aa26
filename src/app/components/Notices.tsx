import { useEffect, useRef } from 'react';
import { useApp } from '../context';

const LIFETIME_MS = 5000;

/** Toasts: successes and info fade after a few seconds, each on its own timer; errors stay until dismissed. */
export function Notices() {
  const notices = useApp((s) => s.notices);
  const dismiss = useApp((s) => s.dismiss);
  const timers = useRef(new Map<number, ReturnType<typeof setTimeout>>());
  useEffect(() => {
    for (const n of notices) {
      if (n.level !== 'error' && !timers.current.has(n.id)) {
        timers.current.set(n.id, setTimeout(() => { timers.current.delete(n.id); dismiss(n.id); }, LIFETIME_MS));
      }
    }
  }, [notices, dismiss]);
  useEffect(() => () => { for (const t of timers.current.values()) clearTimeout(t); }, []);
  return (
    <div className="notices" aria-live="polite">
      {notices.map((n) => (
        <div key={n.id} className={`notice ${n.level}`} role={n.level === 'error' ? 'alert' : 'status'} data-testid={`notice-${n.level}`}>
          <span>{n.text}</span>
          <button type="button" aria-label="Dismiss" onClick={() => dismiss(n.id)}>×</button>
        </div>
      ))}
    </div>
  );
}
