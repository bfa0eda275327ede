"""WAL pages a 500-record batch of `record` rows writes into a SQLite store of PRELOAD records.

Applies the server's real SQLite migrations (docs/performance.md, session 16), preloads PRELOAD
records with random titles, activity over a fortnight and entry within days of it, then commits
five batches of 500 records of one Polsek and counts the WAL's frames after each (median).
Without PAGE_SIZE it repeats the run with each of the `record` indexes dropped in turn; with it,
it runs once, all indexes, at that page size.

    python3 docs/measure/wal_pages.py 200000 [PAGE_SIZE]

Python's bundled SQLite may predate FTS5's `contentless_delete`; the option is left out, which
does not touch the `record` table this measures.
"""
import glob, os, random, sqlite3, sys, tempfile, time, uuid
random.seed(1)
PRE=int(sys.argv[1]); PS=int(sys.argv[2]) if len(sys.argv)>2 else 4096
stems=['Pelayanan SKCK','Pelayanan SIM','Patroli','Sambang','Penanganan pengaduan','Sosialisasi anti korupsi','Pengaturan lalu lintas','Door to door']
villages=['Sudaji','Sawan','Kubutambahan','Tejakula','Banjar','Seririt','Gerokgak','Busungbiu','Sukasada','Singaraja']
polsek=['p%d'%i for i in range(10)]
def rows(n,base_seq,unit=None,officer=None,now=None):
    out=[]
    for i in range(n):
        u=unit or random.choice(polsek); o=officer or ('%s-o%d'%(u,random.randrange(2)))
        act=now-random.randrange(14*86400000)
        cap=act+random.randrange(3*3600000)+86400000*2
        out.append((str(uuid.uuid1()),'bali/buleleng/'+u,o,'patrol','%s di %s #%d'%(random.choice(stems),random.choice(villages),i),'done',None,'captured',act,act+3600000,cap,act,-8.1,115.1,'x','[]',1,base_seq+i,now,now))
    return out
SQL="insert into record (record_id,unit,officer,kind,title,status,verdict,state,started_at,ended_at,captured_at,activity_at,lat,lon,place,heads,version,feed_seq,created_at,updated_at) values (%s)"%','.join('?'*20)
def build(path,drop):
    for f in glob.glob(path+'*'): os.remove(f)
    db=sqlite3.connect(path,isolation_level=None)
    db.execute('pragma page_size=%d'%PS); db.execute('pragma journal_mode=wal'); db.execute('pragma wal_autocheckpoint=0')
    for m in sorted(glob.glob(os.path.join(os.path.dirname(os.path.abspath(__file__)),'../../migrations/server-sqlite/*.sql'))):
        db.executescript(open(m).read().replace(',\n    contentless_delete = 1',''))
    for ix in drop: db.execute('drop index '+ix)
    now=int(time.time()*1000)
    db.execute('begin')
    db.executemany(SQL,rows(PRE,1,now=now-3600000))
    db.execute('commit')
    db.execute('pragma wal_checkpoint(truncate)')
    return db,now
res={}
for name,drop in [('all',[])] if len(sys.argv)>2 else [('all',[]),('-record_title',['record_title']),('-record_activity',['record_activity']),('-record_officer',['record_officer']),('-record_unit_period',['record_unit_period']),('-captured,-updated',['record_captured','record_updated'])]:
    path=os.path.join(tempfile.mkdtemp(),'t.db')
    db,now=build(path,drop)
    frames=[]
    for b in range(5):
        u=polsek[b%10]
        db.execute('begin')
        db.executemany(SQL,rows(500,PRE+1+500*b,unit=u,officer=u+'-o0',now=now+b))
        db.execute('commit')
        frames.append(os.path.getsize(path+'-wal')//(PS+24))
        db.execute('pragma wal_checkpoint(truncate)')
    db.close()
    frames.sort(); res[name]=frames[2]
    print('%-22s %5d pages per 500-record batch (median of 5) = %.1f KB per record'%(name,frames[2],frames[2]*PS/1000/500),flush=True)
