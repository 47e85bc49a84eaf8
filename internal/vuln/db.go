package vuln

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/internal/atomicfile"
)

// The database layout (bbolt):
//
//	records/<id>                 the OSV record as imported (JSON)
//	index/<ecosystem>\x00<name>  bucket of <id> → "" for every record
//	                             affecting that package
//	meta/schema, meta/imported   layout version, time of the last import
var (
	bucketRecords = []byte("records")
	bucketIndex   = []byte("index")
	bucketMeta    = []byte("meta")
)

// schemaVersion changes when the layout does; older files are refused
// with a hint to re-import.
const schemaVersion = "1"

// DefaultDBName is the file under berth's cache directory.
const DefaultDBName = "vulndb.db"

// DB is an opened, read-only vulnerability database.
type DB struct {
	bolt *bolt.DB
	path string

	mu     sync.Mutex
	parsed map[string]*Record // records parsed once per DB handle
}

// OpenDB opens an existing database read-only.
func OpenDB(path string) (*DB, error) {
	st, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("no vulnerability database at %s: run `berth vulndb import PATH` first", path)
		}
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("vulnerability database %s: not a regular file", path)
	}
	b, err := bolt.Open(path, 0o644, &bolt.Options{ReadOnly: true, Timeout: 5 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("vulnerability database %s: %w", path, err)
	}
	db := &DB{bolt: b, path: path, parsed: map[string]*Record{}}
	if err := b.View(func(tx *bolt.Tx) error {
		m := tx.Bucket(bucketMeta)
		if m == nil || string(m.Get([]byte("schema"))) != schemaVersion {
			return fmt.Errorf("vulnerability database %s: unknown layout (re-import it with `berth vulndb import`)", path)
		}
		return nil
	}); err != nil {
		b.Close()
		return nil, err
	}
	return db, nil
}

// Close closes the database.
func (d *DB) Close() error { return d.bolt.Close() }

// Path is the database file.
func (d *DB) Path() string { return d.path }

func indexKey(ecosystem, name string) []byte { return []byte(ecosystem + "\x00" + name) }

// Lookup returns the records that name (ecosystem, name) in their affected
// list, sorted by id.
func (d *DB) Lookup(ecosystem, name string) ([]*Record, error) {
	var out []*Record
	err := d.bolt.View(func(tx *bolt.Tx) error {
		idx := tx.Bucket(bucketIndex).Bucket(indexKey(ecosystem, name))
		if idx == nil {
			return nil
		}
		recs := tx.Bucket(bucketRecords)
		return idx.ForEach(func(id, _ []byte) error {
			d.mu.Lock()
			r, ok := d.parsed[string(id)]
			d.mu.Unlock()
			if !ok {
				raw := recs.Get(id)
				if raw == nil {
					return fmt.Errorf("vulnerability database %s: index names %s but the record is missing (re-import)", d.path, id)
				}
				var err error
				if r, err = ParseRecord(string(id), raw); err != nil {
					return fmt.Errorf("vulnerability database %s: %w", d.path, err)
				}
				d.mu.Lock()
				d.parsed[string(id)] = r
				d.mu.Unlock()
			}
			out = append(out, r)
			return nil
		})
	})
	return out, err
}

// Stats describes a database.
type Stats struct {
	Records  int       `json:"records"`
	Packages int       `json:"packages"`
	Imported time.Time `json:"imported"`
}

// Status is a database file and its counts (`berth vulndb status`).
type Status struct {
	Path string `json:"path"`
	Stats
}

// ReadStatus opens the database at path and counts what it holds.
func ReadStatus(path string) (Status, error) {
	db, err := OpenDB(path)
	if err != nil {
		return Status{}, err
	}
	defer db.Close()
	st, err := db.Stats()
	return Status{Path: path, Stats: st}, err
}

// Stats counts records and indexed packages.
func (d *DB) Stats() (Stats, error) {
	var s Stats
	err := d.bolt.View(func(tx *bolt.Tx) error {
		s.Records = tx.Bucket(bucketRecords).Stats().KeyN
		s.Packages = tx.Bucket(bucketIndex).Stats().BucketN - 1
		if t, err := time.Parse(time.RFC3339, string(tx.Bucket(bucketMeta).Get([]byte("imported")))); err == nil {
			s.Imported = t
		}
		return nil
	})
	return s, err
}

// ImportResult says what an import did.
type ImportResult struct {
	Read      int `json:"read"`      // records read from the sources
	Added     int `json:"added"`     // new ids
	Updated   int `json:"updated"`   // ids whose record was replaced (same or newer modified)
	Unchanged int `json:"unchanged"` // ids kept because the stored record is newer
	Total     int `json:"total"`     // records in the database afterwards
}

// Import loads the OSV records of every source (a directory tree of .json
// files or a .zip of them) into the database at dbPath, creating it if
// needed. The new database is written beside it and renamed over it only
// when every record parsed: a malformed record (the error names the file
// and field) or a crash leaves the old database as it was. Records already
// present are replaced when the imported one's modified time is the same
// or newer, so importing twice changes nothing.
func Import(dbPath string, sources []string) (ImportResult, error) {
	var res ImportResult
	if len(sources) == 0 {
		return res, errors.New("vulndb import: no sources given")
	}
	// Read and validate everything first: nothing is written for bad input.
	incoming := map[string]*Record{}
	raw := map[string][]byte{}
	for _, src := range sources {
		err := readSource(src, func(name string, data []byte) error {
			r, err := ParseRecord(name, data)
			if err != nil {
				return err
			}
			res.Read++
			if prev, ok := incoming[r.ID]; ok && prev.modified.After(r.modified) {
				return nil
			}
			incoming[r.ID] = r
			raw[r.ID] = compactJSON(data)
			return nil
		})
		if err != nil {
			return res, err
		}
	}
	if err := os.MkdirAll(filepath.Dir(dbPath), 0o755); err != nil {
		return res, err
	}
	// One import at a time per database: each copies the old records into
	// its new file, so two at once would lose one's records.
	unlock, err := lockFile(dbPath + ".lock")
	if err != nil {
		return res, err
	}
	defer unlock()
	tmp, err := os.CreateTemp(filepath.Dir(dbPath), "."+filepath.Base(dbPath)+".tmp-*")
	if err != nil {
		return res, err
	}
	tmpPath := tmp.Name()
	tmp.Close()
	committed := false
	defer func() {
		if !committed {
			os.Remove(tmpPath)
		}
	}()
	nb, err := bolt.Open(tmpPath, 0o644, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		return res, err
	}
	err = nb.Update(func(tx *bolt.Tx) error {
		recs, err := tx.CreateBucket(bucketRecords)
		if err != nil {
			return err
		}
		idx, err := tx.CreateBucket(bucketIndex)
		if err != nil {
			return err
		}
		meta, err := tx.CreateBucket(bucketMeta)
		if err != nil {
			return err
		}
		put := func(r *Record, data []byte) error {
			if err := recs.Put([]byte(r.ID), data); err != nil {
				return err
			}
			for _, a := range r.Affected {
				b, err := idx.CreateBucketIfNotExists(indexKey(a.Package.Ecosystem, a.Package.Name))
				if err != nil {
					return err
				}
				if err := b.Put([]byte(r.ID), nil); err != nil {
					return err
				}
			}
			return nil
		}
		// The existing database's records, unless replaced.
		if old, err := existingRecords(dbPath); err != nil {
			return err
		} else {
			for _, o := range old {
				if n, ok := incoming[o.rec.ID]; ok {
					if o.rec.modified.After(n.modified) {
						res.Unchanged++
						delete(incoming, o.rec.ID)
					} else {
						res.Updated++
						continue
					}
				}
				if err := put(o.rec, o.raw); err != nil {
					return err
				}
			}
		}
		ids := make([]string, 0, len(incoming))
		for id := range incoming {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		for _, id := range ids {
			if err := put(incoming[id], raw[id]); err != nil {
				return err
			}
		}
		res.Added = len(ids) - res.Updated
		if err := meta.Put([]byte("schema"), []byte(schemaVersion)); err != nil {
			return err
		}
		return meta.Put([]byte("imported"), []byte(time.Now().UTC().Format(time.RFC3339)))
	})
	if err == nil {
		err = nb.View(func(tx *bolt.Tx) error {
			n := 0
			_ = tx.Bucket(bucketRecords).ForEach(func(_, _ []byte) error { n++; return nil })
			res.Total = n
			return nil
		})
	}
	if cerr := nb.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return res, fmt.Errorf("vulndb import: writing %s: %w", dbPath, err)
	}
	if err := os.Rename(tmpPath, dbPath); err != nil {
		return res, err
	}
	committed = true
	return res, atomicfile.SyncDir(filepath.Dir(dbPath))
}

// lockFile takes an exclusive flock on path (created if needed), waiting
// for another import to finish.
func lockFile(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("vulndb import: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("vulndb import: locking %s: %w", path, err)
	}
	return func() {
		_ = unix.Flock(int(f.Fd()), unix.LOCK_UN)
		f.Close()
	}, nil
}

type storedRecord struct {
	rec *Record
	raw []byte
}

// existingRecords reads every record of the database at path ("" records
// when it does not exist yet).
func existingRecords(path string) ([]storedRecord, error) {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	db, err := OpenDB(path)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	var out []storedRecord
	err = db.bolt.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketRecords).ForEach(func(id, v []byte) error {
			r, err := ParseRecord(string(id), v)
			if err != nil {
				return fmt.Errorf("existing database %s: %w", path, err)
			}
			out = append(out, storedRecord{rec: r, raw: append([]byte(nil), v...)})
			return nil
		})
	})
	return out, err
}

func compactJSON(data []byte) []byte {
	var buf bytes.Buffer
	if err := json.Compact(&buf, data); err != nil {
		return data
	}
	return buf.Bytes()
}
