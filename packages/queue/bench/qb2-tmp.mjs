import v8 from 'node:v8';
import { Packr } from 'msgpackr';
const item = { id: 1, name: 'item', tags: ['a', 'b'], score: 1.5, ok: true };
const N = 300000;
function t(name, f) { const t0 = performance.now(); for (let i = 0; i < N; i++) f(); console.log(name, N / (performance.now() - t0) * 1000 | 0); }
t('v8.serialize', () => v8.serialize(item));
t('Serializer base', () => { const s = new v8.Serializer(); s.writeHeader(); s.writeValue(item); return s.releaseBuffer(); });
t('DefaultSerializer', () => { const s = new v8.DefaultSerializer(); s.writeHeader(); s.writeValue(item); return s.releaseBuffer(); });
const s = new v8.Serializer();
t('Serializer reused', () => { s.writeHeader(); s.writeValue(item); return s.releaseBuffer(); });
const b = v8.serialize(item);
t('v8.deserialize', () => v8.deserialize(b));
t('Deserializer base', () => { const d = new v8.Deserializer(b); d.readHeader(); return d.readValue(); });
t('structuredClone', () => structuredClone(item));
t('JSON', () => JSON.stringify(item));
const p = new Packr({ useRecords: false, moreTypes: true, mapsAsObjects: false, int64AsType: 'bigint' });
t('msgpackr', () => p.pack(item));
