/* bench_hot_get: repeated reads of a hot set of keys (workers re-reading their
 * configuration), where permadict's read cache serves gets without entering
 * SQLite. Same keys and values for permadict and raw SQLite (reused prepared
 * statement, WAL); usage: bench_hot_get DIR. The main table measures one cold
 * pass over 100,000 shuffled keys instead. */

#include <permadict.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec/1e9;}
int main(int argc, char **argv){
  if (argc != 2 || chdir(argv[1]) != 0) { fprintf(stderr, "usage: bench_hot_get DIR\n"); return 2; }
  const int N=100000, HOT=1000, ROUNDS=200; char k[32], v[101]; memset(v,'v',100); v[100]=0;
  remove("hot.db"); remove("hot.db-wal"); remove("hot.db-shm"); remove("raw.db"); remove("raw.db-wal"); remove("raw.db-shm");
  pd_dict *d; pd_open(&d,"hot.db",NULL); pd_begin(d);
  for(int i=0;i<N;i++){snprintf(k,sizeof k,"key-%011d",i); pd_val K=pd_text(k,strlen(k)),V=pd_text(v,100); pd_set(d,&K,&V);} pd_commit(d);
  pd_val out; double t=now(); long n=0;
  for(int r=0;r<ROUNDS;r++) for(int i=0;i<HOT;i++){snprintf(k,sizeof k,"key-%011d",i*97); pd_val K=pd_text(k,strlen(k)); pd_get(d,&K,&out); n++;}
  double pd_us=(now()-t)/n*1e6;
  sqlite3 *db; sqlite3_open("raw.db",&db); sqlite3_exec(db,"PRAGMA journal_mode=WAL;PRAGMA synchronous=NORMAL;CREATE TABLE IF NOT EXISTS kv(k TEXT PRIMARY KEY, v BLOB);BEGIN",0,0,0);
  sqlite3_stmt *ins; sqlite3_prepare_v2(db,"INSERT OR REPLACE INTO kv VALUES(?,?)",-1,&ins,0);
  for(int i=0;i<N;i++){snprintf(k,sizeof k,"key-%011d",i); sqlite3_bind_text(ins,1,k,-1,SQLITE_STATIC); sqlite3_bind_text(ins,2,v,100,SQLITE_STATIC); sqlite3_step(ins); sqlite3_reset(ins);}
  sqlite3_exec(db,"COMMIT",0,0,0); sqlite3_stmt *get; sqlite3_prepare_v2(db,"SELECT v FROM kv WHERE k=?",-1,&get,0);
  t=now(); n=0;
  for(int r=0;r<ROUNDS;r++) for(int i=0;i<HOT;i++){snprintf(k,sizeof k,"key-%011d",i*97); sqlite3_bind_text(get,1,k,-1,SQLITE_STATIC); sqlite3_step(get); sqlite3_reset(get); n++;}
  double raw_us=(now()-t)/n*1e6;
  printf("hot-set get (1,000 keys of 100,000, read 200 times each): permadict %.3f us, raw SQLite %.3f us\n",pd_us,raw_us);
  pd_close(d); sqlite3_close(db); return 0; }
