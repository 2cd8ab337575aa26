import { createRoot } from 'react-dom/client';

function Placeholder() {
  return (
    <main style={{ fontFamily: 'system-ui, sans-serif', margin: '3rem auto', maxWidth: 640 }}>
      <h1>cxr-align</h1>
      <p>The alignment workbench is being built. The engine runs in Node today: see the README.</p>
    </main>
  );
}

createRoot(document.getElementById('root')!).render(<Placeholder />);
