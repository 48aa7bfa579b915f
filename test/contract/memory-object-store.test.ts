import { MemoryObjectStore } from '../../src/adapters/memory/memory-object-store.ts';
import { runObjectStoreContract } from './object-store.contract.ts';

runObjectStoreContract('MemoryObjectStore', async () => ({ store: new MemoryObjectStore({ chunkSize: 16 * 1024 }) }));
