import { useMemo } from 'react';
import { filterIds } from './filter.js';
import { useSluice } from './store.js';

/** The ids that pass the filter and the total, recomputed only when the list or the filter changed. */
export function useFilteredIds(): { ids: number[]; total: number } {
  const listRevision = useSluice((s) => s.listRevision);
  const filter = useSluice((s) => s.filter);
  return useMemo(() => {
    const { traffic } = useSluice.getState();
    return { ids: filterIds(traffic.order, traffic.exchanges, filter), total: traffic.order.length };
    // listRevision stands for the mutable traffic it describes.
  }, [listRevision, filter]);
}
