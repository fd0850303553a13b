// Tiles (c2sp.org/tlog-tiles) and witness cosignatures (c2sp.org/tlog-cosignature), checked with
// Go's reference code: tlog.TileHashReader authenticates every tile it reads against the signed
// checkpoint, and tlog.ProveRecord / tlog.ProveTree compute proofs from those tiles only.
//
//	verify tile-proofs PREFIX VKEY < requests.json
//	    PREFIX is an http(s):// URL or a directory holding the static layout. Reads
//	    PREFIX/checkpoint, opens it with the log key VKEY (note.Open), then for
//	    {"inclusion": [{"index", "size"}], "consistency": [{"old", "new"}], "entries": bool}
//	    prints {"size", "root", "inclusion": [{"root", "proof"}], "consistency": [{"proof"}],
//	    "entries_checked"}; "entries" reads every entry bundle and checks each entry's
//	    tlog.RecordHash against the authenticated level-0 hashes.
//	verify tile-paths < [[L, N, W], ...]
//	    prints tlog.Tile.Path() of each (height 8) with the tlog-tiles spelling: "tile/8/" → "tile/",
//	    level -1 → "entries".
//	verify verify-cosignature LOG_VKEY WITNESS_VKEY < note
//	    opens the note with the log key (note.Open), then checks the witness's cosignature/v1
//	    line independently of the Python code: key type 0x04, key ID, timestamped Ed25519
//	    signature over "cosignature/v1\ntime <t>\n" + text. Prints "ok <name> <time>".
package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

const tileHeight = 8

// c2spPath turns tlog's "tile/8/L/N[.p/W]" (and "tile/8/data/…") into the tlog-tiles spelling.
func c2spPath(t tlog.Tile) string {
	p := t.Path()
	if t.L == -1 {
		return strings.Replace(p, "tile/8/data/", "tile/entries/", 1)
	}
	return strings.Replace(p, fmt.Sprintf("tile/%d/", tileHeight), "tile/", 1)
}

type fetcher struct {
	prefix string
	client *http.Client
}

func (f *fetcher) get(path string) ([]byte, error) {
	if strings.HasPrefix(f.prefix, "http://") || strings.HasPrefix(f.prefix, "https://") {
		resp, err := f.client.Get(strings.TrimRight(f.prefix, "/") + "/" + path)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		data, err := io.ReadAll(io.LimitReader(resp.Body, maxInput))
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("GET %s: HTTP %d: %s", path, resp.StatusCode, bytes.TrimSpace(data))
		}
		return data, nil
	}
	return os.ReadFile(filepath.Join(f.prefix, filepath.FromSlash(path)))
}

// tileReader serves tlog.TileHashReader from the tlog-tiles layout. Tiles are immutable, so
// each is fetched once (TileHashReader authenticates them again on every read).
type tileReader struct {
	f     *fetcher
	cache map[string][]byte
}

func (r tileReader) Height() int { return tileHeight }

func (r tileReader) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		p := c2spPath(t)
		data, ok := r.cache[p]
		if !ok {
			var err error
			if data, err = r.f.get(p); err != nil {
				return nil, err
			}
			r.cache[p] = data
		}
		out[i] = data
	}
	return out, nil
}

func (r tileReader) SaveTiles([]tlog.Tile, [][]byte) {}

type tileRequests struct {
	Inclusion []struct {
		Index int64 `json:"index"`
		Size  int64 `json:"size"`
	} `json:"inclusion"`
	Consistency []struct {
		Old int64 `json:"old"`
		New int64 `json:"new"`
	} `json:"consistency"`
	Entries bool `json:"entries"`
}

type proofOut struct {
	Root  string   `json:"root,omitempty"`
	Proof []string `json:"proof"`
}

type tileProofsOut struct {
	Size           int64      `json:"size"`
	Root           string     `json:"root"`
	Inclusion      []proofOut `json:"inclusion"`
	Consistency    []proofOut `json:"consistency"`
	EntriesChecked int64      `json:"entries_checked"`
}

func b64s(hashes []tlog.Hash) []string {
	out := make([]string, len(hashes))
	for i, h := range hashes {
		out[i] = base64.StdEncoding.EncodeToString(h[:])
	}
	return out
}

func tileProofs(prefix, vkey string) error {
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return badInput("verifier key: %v", err)
	}
	data, err := readStdin()
	if err != nil {
		return err
	}
	var req tileRequests
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return badInput("requests: %v", err)
	}
	f := &fetcher{prefix, &http.Client{Timeout: 30 * time.Second}}
	msg, err := f.get("checkpoint")
	if err != nil {
		return err
	}
	n, err := note.Open(msg, note.VerifierList(v))
	if err != nil {
		return fmt.Errorf("checkpoint: %v", err)
	}
	cp, err := parseCheckpoint(n.Text)
	if err != nil {
		return fmt.Errorf("checkpoint: %v", err)
	}
	if cp.origin != v.Name() {
		return fmt.Errorf("checkpoint origin %q is not the log key's name %q", cp.origin, v.Name())
	}
	thr := tlog.TileHashReader(tlog.Tree{N: cp.size, Hash: cp.root}, tileReader{f, map[string][]byte{}})
	out := tileProofsOut{Size: cp.size, Root: base64.StdEncoding.EncodeToString(cp.root[:]),
		Inclusion: []proofOut{}, Consistency: []proofOut{}}
	for _, q := range req.Inclusion {
		p, err := tlog.ProveRecord(q.Size, q.Index, thr)
		if err != nil {
			return fmt.Errorf("ProveRecord(%d, %d): %v", q.Size, q.Index, err)
		}
		root, err := tlog.TreeHash(q.Size, thr)
		if err != nil {
			return fmt.Errorf("TreeHash(%d): %v", q.Size, err)
		}
		out.Inclusion = append(out.Inclusion,
			proofOut{base64.StdEncoding.EncodeToString(root[:]), b64s(p)})
	}
	for _, q := range req.Consistency {
		p, err := tlog.ProveTree(q.New, q.Old, thr)
		if err != nil {
			return fmt.Errorf("ProveTree(%d, %d): %v", q.New, q.Old, err)
		}
		out.Consistency = append(out.Consistency, proofOut{Proof: b64s(p)})
	}
	if req.Entries {
		if out.EntriesChecked, err = checkEntryBundles(f, cp.size, thr); err != nil {
			return err
		}
	}
	enc, err := json.Marshal(out)
	if err != nil {
		return err
	}
	fmt.Println(string(enc))
	return nil
}

// checkEntryBundles reads every bundle of the tree (uint16 big-endian length-prefixed entries)
// and compares each entry's record hash with the authenticated level-0 hash.
func checkEntryBundles(f *fetcher, size int64, thr tlog.HashReader) (int64, error) {
	const width = 1 << tileHeight
	var checked int64
	for start := int64(0); start < size; start += width {
		w := size - start
		if w > width {
			w = width
		}
		t := tlog.Tile{H: tileHeight, L: -1, N: start / width, W: int(w)}
		data, err := f.get(c2spPath(t))
		if err != nil {
			return checked, err
		}
		indexes := make([]int64, w)
		for i := range indexes {
			indexes[i] = tlog.StoredHashIndex(0, start+int64(i))
		}
		hashes, err := thr.ReadHashes(indexes)
		if err != nil {
			return checked, fmt.Errorf("%s: %v", c2spPath(t), err)
		}
		for i := int64(0); i < w; i++ {
			if len(data) < 2 {
				return checked, fmt.Errorf("%s: truncated before entry %d", c2spPath(t), i)
			}
			n := int(binary.BigEndian.Uint16(data))
			if len(data) < 2+n {
				return checked, fmt.Errorf("%s: entry %d truncated", c2spPath(t), i)
			}
			if tlog.RecordHash(data[2:2+n]) != hashes[i] {
				return checked, fmt.Errorf("%s: entry %d does not hash to its level-0 tile", c2spPath(t), i)
			}
			data = data[2+n:]
			checked++
		}
		if len(data) != 0 {
			return checked, fmt.Errorf("%s: %d trailing bytes", c2spPath(t), len(data))
		}
	}
	return checked, nil
}

func tilePaths() error {
	data, err := readStdin()
	if err != nil {
		return err
	}
	var cases [][3]int64
	if err := json.Unmarshal(data, &cases); err != nil {
		return badInput("cases: %v", err)
	}
	out := make([]string, len(cases))
	for i, c := range cases {
		out[i] = c2spPath(tlog.Tile{H: tileHeight, L: int(c[0]), N: c[1], W: int(c[2])})
	}
	enc, err := json.Marshal(out)
	if err != nil {
		return err
	}
	fmt.Println(string(enc))
	return nil
}

// --- cosignature/v1 -----------------------------------------------------------------------------

func verifyCosignature(logVkey, witnessVkey string) error {
	v, err := note.NewVerifier(logVkey)
	if err != nil {
		return badInput("log verifier key: %v", err)
	}
	parts := strings.SplitN(witnessVkey, "+", 3)
	if len(parts) != 3 {
		return badInput("witness key: expected name+hash+key")
	}
	name, hashHex, keyB64 := parts[0], parts[1], parts[2]
	raw, err := base64.StdEncoding.DecodeString(keyB64)
	if err != nil || len(raw) != 33 || raw[0] != 0x04 {
		return badInput("witness key: not a cosignature/v1 (type 0x04) Ed25519 key")
	}
	sum := sha256.Sum256(append([]byte(name+"\n"), raw...))
	wantHash := binary.BigEndian.Uint32(sum[:4])
	if h, err := strconv.ParseUint(hashHex, 16, 32); err != nil || uint32(h) != wantHash || len(hashHex) != 8 {
		return badInput("witness key: key hash does not match")
	}
	msg, err := readStdin()
	if err != nil {
		return err
	}
	n, err := note.Open(msg, note.VerifierList(v))
	if err != nil {
		return err
	}
	found := false
	for _, sig := range n.UnverifiedSigs {
		if sig.Name != name || sig.Hash != wantHash {
			continue
		}
		b, err := base64.StdEncoding.DecodeString(sig.Base64)
		if err != nil || len(b) != 4+8+ed25519.SignatureSize {
			return fmt.Errorf("cosignature by %s: malformed", name)
		}
		ts := binary.BigEndian.Uint64(b[4:12])
		if ts >= 1<<63 {
			return fmt.Errorf("cosignature by %s: timestamp out of range", name)
		}
		signed := append([]byte(fmt.Sprintf("cosignature/v1\ntime %d\n", ts)), n.Text...)
		if !ed25519.Verify(ed25519.PublicKey(raw[1:]), signed, b[12:]) {
			return fmt.Errorf("cosignature by %s does not verify", name)
		}
		fmt.Printf("ok %s %d\n", name, ts)
		found = true
	}
	if !found {
		return fmt.Errorf("no cosignature by %s+%08x on the note", name, wantHash)
	}
	return nil
}
