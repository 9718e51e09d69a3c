// DuckDB peer for bench/ingest.sh: the same de-duplicated, per-user, time-sorted item
// sequences that `shopseq ingest` builds, from the same file, with 2 threads.
//
//   node bench/peers/ingest_duckdb.mjs FILE --layout taobao|rees46 [--stable] [--threads N]
//
// read_csv -> SELECT DISTINCT -> list(item ORDER BY ts) GROUP BY user, materialized with
// CREATE TABLE ... AS (so nothing streams lazily). DISTINCT does not keep input order, so
// events of one user with the same timestamp come out in an arbitrary order; --stable
// numbers the rows first (row_number() OVER (), which DuckDB documents as keeping file
// order) and orders ties by first occurrence, which is what shopseq and pandas do.
// Prints one JSON line: rows, events, users, phase times and the checksum that
// bench/peers/ingest_pandas.py and bench/sqd_checksum.py also compute.
import { DuckDBInstance } from '@duckdb/node-api';

const args = process.argv.slice(2);
let file = null, layout = null, stable = false, threads = 2;
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--layout') layout = args[++i];
  else if (args[i] === '--stable') stable = true;
  else if (args[i] === '--threads') threads = Number(args[++i]);
  else if (!file) file = args[i];
  else { console.error(`unexpected argument ${args[i]}`); process.exit(2); }
}
if (!file || !['taobao', 'rees46'].includes(layout)) {
  console.error('usage: node ingest_duckdb.mjs FILE --layout taobao|rees46 [--stable] [--threads N]');
  process.exit(2);
}
const q = (s) => `'${s.replaceAll("'", "''")}'`;
const L = {
  taobao: {
    csv: `read_csv(${q(file)}, header=false, delim=',', columns={'user_id':'BIGINT',
          'item_id':'BIGINT','category_id':'BIGINT','behavior_type':'VARCHAR','ts':'BIGINT'})`,
    cols: 'user_id, item_id, category_id, behavior_type, ts',
    user: 'user_id', item: 'item_id', ts: 'ts',
  },
  rees46: {
    csv: `read_csv(${q(file)}, header=true, delim=',', timestampformat='%Y-%m-%d %H:%M:%S UTC',
          columns={'event_time':'TIMESTAMP','event_type':'VARCHAR','product_id':'BIGINT',
          'category_id':'BIGINT','category_code':'VARCHAR','brand':'VARCHAR','price':'DOUBLE',
          'user_id':'BIGINT','user_session':'VARCHAR'})`,
    cols: 'event_time, event_type, product_id, category_id, category_code, brand, price, user_id, user_session',
    user: 'user_id', item: 'product_id', ts: 'event_time',
  },
}[layout];

const now = () => Number(process.hrtime.bigint()) / 1e9;
const t0 = now();
const inst = await DuckDBInstance.create(':memory:');
const con = await inst.connect();
await con.run(`SET threads=${threads}`);
await con.run(`SET temp_directory=''`); // in memory only: no spilling, like the others
const sql = stable
  ? `CREATE TABLE seqs AS
       SELECT ${L.user} AS u, list(${L.item} ORDER BY ${L.ts}, rn) AS items
       FROM (SELECT ${L.cols}, min(rn) AS rn
             FROM (SELECT *, row_number() OVER () AS rn FROM ${L.csv})
             GROUP BY ALL)
       GROUP BY ${L.user}`
  : `CREATE TABLE seqs AS
       SELECT ${L.user} AS u, list(${L.item} ORDER BY ${L.ts}) AS items
       FROM (SELECT DISTINCT ${L.cols} FROM ${L.csv})
       GROUP BY ${L.user}`;
await con.run(sql);
const t1 = now();
// rows in the file: a second scan, outside the timed part
const rows = (await con.runAndReadAll(`SELECT count(*)::VARCHAR AS n FROM ${L.csv}`))
  .getRowObjectsJson()[0].n;
const t2 = now();
const cs = (await con.runAndReadAll(`
  SELECT count(*)::VARCHAR AS users, sum(len(items))::VARCHAR AS events,
         lpad(printf('%x', (sum(('0x' || md5(u::VARCHAR || ':' || array_to_string(items, ' '))[1:16])
              ::UBIGINT::HUGEINT) % 18446744073709551616)::UBIGINT), 16, '0') AS checksum
  FROM seqs`)).getRowObjectsJson()[0];
const t3 = now();
const version = (await con.runAndReadAll('SELECT version() AS v')).getRowObjectsJson()[0].v;
console.log(JSON.stringify({
  tool: stable ? 'duckdb-stable' : 'duckdb', version, file, layout, threads,
  rows: Number(rows), events: Number(cs.events), users: Number(cs.users),
  duplicates: Number(rows) - Number(cs.events),
  seconds: +(t1 - t0).toFixed(3), count_s: +(t2 - t1).toFixed(3),
  checksum_s: +(t3 - t2).toFixed(3), checksum: cs.checksum,
}));
