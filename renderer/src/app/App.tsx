import { lazy, Suspense } from 'react';
import { useSluice } from '../store/store.js';
import { Banners } from './Banners.js';
import { DetailPane } from './DetailPane.js';
import { ExchangeList } from './ExchangeList.js';
import { Toolbar } from './Toolbar.js';
import { SplitHandle, useSplit } from './SplitHandle.js';

// Loaded when two runs are first compared, not with the page.
const CompareDialog = lazy(() => import('./CompareDialog.js').then((m) => ({ default: m.CompareDialog })));

export function App({ onReconnect }: { onReconnect: () => void }) {
  const comparing = useSluice((s) => s.comparing);
  const [split, setSplit] = useSplit();
  return (
    <div className="app">
      <Toolbar />
      <Banners onReconnect={onReconnect} />
      <main className="main" style={{ gridTemplateColumns: `minmax(0, ${split}fr) auto minmax(0, ${1 - split}fr)` }}>
        <ExchangeList />
        <SplitHandle share={split} onChange={setSplit} />
        <DetailPane />
      </main>
      {comparing && (
        <Suspense fallback={null}>
          <CompareDialog a={comparing.a} b={comparing.b} />
        </Suspense>
      )}
    </div>
  );
}
