import { Banners } from './Banners.js';
import { DetailPane } from './DetailPane.js';
import { ExchangeList } from './ExchangeList.js';
import { Toolbar } from './Toolbar.js';

export function App({ onReconnect }: { onReconnect: () => void }) {
  return (
    <div className="app">
      <Toolbar />
      <Banners onReconnect={onReconnect} />
      <main className="main">
        <ExchangeList />
        <DetailPane />
      </main>
    </div>
  );
}
