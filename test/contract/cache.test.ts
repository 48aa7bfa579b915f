import { createLruCache } from '../../src/adapters/lru/lru-cache.ts';
import { createMapCache } from '../../src/adapters/memory/map-cache.ts';
import { runCacheContract } from './cache.contract.ts';

runCacheContract('lru-cache', (o) => createLruCache(o));
runCacheContract('map twin', (o) => createMapCache(o));
