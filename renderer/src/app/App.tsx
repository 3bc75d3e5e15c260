import { lazy, Suspense } from 'react';
import { useSluice } from '../store/store.js';
import { Banners } from './Banners.js';
import { DetailPane } from './DetailPane.js';
import { ExchangeList } from './ExchangeList.js';
import { Toolbar } from './Toolbar.js';

// Loaded when two runs are first compared, not with the page.
const CompareDialog = lazy(() => import('./CompareDialog.js').then((m) => ({ default: m.CompareDialog })));

export function App({ onReconnect }: { onReconnect: () => void }) {
  const comparing = useSluice((s) => s.comparing);
  return (
    <div className="app">
      <Toolbar />
      <Banners onReconnect={onReconnect} />
      <main className="main">
        <ExchangeList />
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
