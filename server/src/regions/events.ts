/** In-process notification after a region change (live push and caches re-read the tree). */
export interface RegionChange {
  kind: 'upsert' | 'delete';
  id: string;
}
