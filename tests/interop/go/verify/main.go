// Command verify checks eco-credit ledger artefacts with the Go reference packages
// golang.org/x/mod/sumdb/note (C2SP signed notes) and golang.org/x/mod/sumdb/tlog (RFC 6962
// trees and proofs), so the Python implementation is tested against code it does not share.
//
// Usage:
//
//	verify verify-note VKEY < note          print the verified text; exit 1 if it does not open
//	verify sign-note SKEY < text            print the signed note
//	verify check-evidence DIR               checkpoint + log.vkey + entries.jsonl (docs/protocol.md §5)
//	verify check-inclusion < cases.json     tlog.CheckRecord for each case
//	verify check-consistency < cases.json   tlog.CheckTree for each case
//	verify tile-proofs PREFIX VKEY < req    proofs from c2sp.org/tlog-tiles via tlog.TileHashReader
//	verify tile-paths < [[L, N, W], ...]    tlog.Tile.Path() in the tlog-tiles spelling
//	verify verify-cosignature LOG_VKEY WITNESS_VKEY < note   c2sp.org/tlog-cosignature v1
//
// (tile-proofs, tile-paths and verify-cosignature are described in tiles.go.)
//
// check-inclusion reads one object or an array of objects
// {"index", "size", "root", "proof": [...], and "leaf_hash" or "entry"}; check-consistency reads
// {"old_size", "new_size", "old_root", "new_root", "proof": [...]}. Every hash and entry is
// standard base64. Both print one JSON result per case, {"ok": true} or {"ok": false,
// "error": "..."}, as a JSON array.
//
// Exit status: 0 all verified, 1 something did not verify, 2 usage or malformed input.
package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

const maxInput = 64 << 20

type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func badInput(format string, args ...interface{}) error {
	return usageError{fmt.Sprintf(format, args...)}
}

func main() {
	if len(os.Args) < 2 {
		fail(badInput("usage: verify verify-note|sign-note|check-evidence|check-inclusion|check-consistency ..."))
	}
	var err error
	switch cmd, args := os.Args[1], os.Args[2:]; cmd {
	case "verify-note":
		err = withArgs(args, 1, func() error { return verifyNote(args[0]) })
	case "sign-note":
		err = withArgs(args, 1, func() error { return signNote(args[0]) })
	case "check-evidence":
		err = withArgs(args, 1, func() error { return checkEvidence(args[0]) })
	case "check-inclusion":
		err = withArgs(args, 0, checkInclusion)
	case "check-consistency":
		err = withArgs(args, 0, checkConsistency)
	case "tile-proofs":
		err = withArgs(args, 2, func() error { return tileProofs(args[0], args[1]) })
	case "tile-paths":
		err = withArgs(args, 0, tilePaths)
	case "verify-cosignature":
		err = withArgs(args, 2, func() error { return verifyCosignature(args[0], args[1]) })
	default:
		err = badInput("unknown command %q", cmd)
	}
	if err != nil {
		fail(err)
	}
}

func withArgs(args []string, n int, f func() error) error {
	if len(args) != n {
		return badInput("expected %d argument(s), got %d", n, len(args))
	}
	return f()
}

func fail(err error) {
	fmt.Fprintf(os.Stderr, "verify: %v\n", err)
	var u usageError
	if errors.As(err, &u) {
		os.Exit(2)
	}
	os.Exit(1)
}

func readStdin() ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(os.Stdin, maxInput+1))
	if err != nil {
		return nil, badInput("reading stdin: %v", err)
	}
	if len(data) > maxInput {
		return nil, badInput("stdin larger than %d bytes", maxInput)
	}
	return data, nil
}

// --- notes --------------------------------------------------------------------------------------

func verifyNote(vkey string) error {
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return badInput("verifier key: %v", err)
	}
	msg, err := readStdin()
	if err != nil {
		return err
	}
	n, err := note.Open(msg, note.VerifierList(v))
	if err != nil {
		return err
	}
	_, err = os.Stdout.WriteString(n.Text)
	return err
}

func signNote(skey string) error {
	s, err := note.NewSigner(skey)
	if err != nil {
		return badInput("signer key: %v", err)
	}
	text, err := readStdin()
	if err != nil {
		return err
	}
	msg, err := note.Sign(&note.Note{Text: string(text)}, s)
	if err != nil {
		return badInput("sign: %v", err)
	}
	_, err = os.Stdout.Write(msg)
	return err
}

// --- checkpoints and evidence -------------------------------------------------------------------

type checkpoint struct {
	origin string
	size   int64
	root   tlog.Hash
}

// parseCheckpoint reads c2sp.org/tlog-checkpoint text: origin, decimal size, base64 root hash,
// then optional extension lines.
func parseCheckpoint(text string) (checkpoint, error) {
	lines := strings.SplitN(text, "\n", 4)
	if len(lines) < 4 || lines[0] == "" {
		return checkpoint{}, errors.New("malformed checkpoint: need origin, size and root lines")
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || size < 0 || lines[1] != strconv.FormatInt(size, 10) {
		return checkpoint{}, fmt.Errorf("malformed checkpoint size %q", lines[1])
	}
	root, err := tlog.ParseHash(lines[2])
	if err != nil {
		return checkpoint{}, fmt.Errorf("malformed checkpoint root %q", lines[2])
	}
	return checkpoint{lines[0], size, root}, nil
}

type entryLine struct {
	Index    *int64  `json:"index"`
	EntryB64 *string `json:"entry_b64"`
}

func checkEvidence(dir string) error {
	vkeyText, err := os.ReadFile(filepath.Join(dir, "log.vkey"))
	if err != nil {
		return badInput("%v", err)
	}
	v, err := note.NewVerifier(strings.TrimSpace(string(vkeyText)))
	if err != nil {
		return fmt.Errorf("log.vkey: %v", err)
	}
	msg, err := os.ReadFile(filepath.Join(dir, "checkpoint"))
	if err != nil {
		return badInput("%v", err)
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
		return fmt.Errorf("checkpoint: origin %q is not the log key's name %q", cp.origin, v.Name())
	}

	f, err := os.Open(filepath.Join(dir, "entries.jsonl"))
	if err != nil {
		return badInput("%v", err)
	}
	defer f.Close()

	// The stored hashes of the tree, in tlog's layout, filled record by record.
	var stored []tlog.Hash
	reader := tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(indexes))
		for i, x := range indexes {
			if x < 0 || x >= int64(len(stored)) {
				return nil, fmt.Errorf("stored hash %d not available", x)
			}
			out[i] = stored[x]
		}
		return out, nil
	})

	scanner := bufio.NewScanner(f)
	scanner.Buffer(make([]byte, 0, 1<<20), 1<<20)
	var count int64
	for scanner.Scan() {
		if count >= cp.size {
			return fmt.Errorf("entry %d: entries.jsonl has more entries than the checkpoint's size %d", count, cp.size)
		}
		var line entryLine
		dec := json.NewDecoder(bytes.NewReader(scanner.Bytes()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&line); err != nil || line.Index == nil || line.EntryB64 == nil {
			return fmt.Errorf("entry %d: malformed entries.jsonl line", count)
		}
		if *line.Index != count {
			return fmt.Errorf("entry %d: line carries index %d", count, *line.Index)
		}
		data, err := base64.StdEncoding.DecodeString(*line.EntryB64)
		if err != nil {
			return fmt.Errorf("entry %d: entry_b64 is not base64", count)
		}
		hashes, err := tlog.StoredHashes(count, data, reader)
		if err != nil {
			return fmt.Errorf("entry %d: %v", count, err)
		}
		if tlog.StoredHashIndex(0, count) != int64(len(stored)) {
			return fmt.Errorf("entry %d: stored hash layout out of step", count)
		}
		stored = append(stored, hashes...)
		count++
	}
	if err := scanner.Err(); err != nil {
		return fmt.Errorf("entries.jsonl: %v", err)
	}
	if count != cp.size {
		return fmt.Errorf("entries.jsonl has %d entries, the checkpoint says %d", count, cp.size)
	}
	var root tlog.Hash
	if count == 0 {
		// RFC 6962: the empty tree's hash is SHA-256 of the empty string (tlog uses zeros).
		root = tlog.Hash(sha256.Sum256(nil))
	} else if root, err = tlog.TreeHash(count, reader); err != nil {
		return err
	}
	if root != cp.root {
		return fmt.Errorf("tree hash of %d entries is %v, the checkpoint says %v", count, root, cp.root)
	}
	fmt.Printf("ok %s size %d root %v\n", cp.origin, cp.size, root)
	return nil
}

// --- proofs -------------------------------------------------------------------------------------

type inclusionCase struct {
	Index    *int64   `json:"index"`
	Size     *int64   `json:"size"`
	Root     string   `json:"root"`
	LeafHash string   `json:"leaf_hash"`
	Entry    *string  `json:"entry"`
	Proof    []string `json:"proof"`
}

type consistencyCase struct {
	OldSize *int64   `json:"old_size"`
	NewSize *int64   `json:"new_size"`
	OldRoot string   `json:"old_root"`
	NewRoot string   `json:"new_root"`
	Proof   []string `json:"proof"`
}

type result struct {
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
}

// decodeCases accepts one JSON object or an array of them.
func decodeCases(data []byte, one func() interface{}) ([]interface{}, error) {
	trimmed := bytes.TrimSpace(data)
	var raws []json.RawMessage
	if len(trimmed) > 0 && trimmed[0] == '[' {
		if err := json.Unmarshal(trimmed, &raws); err != nil {
			return nil, badInput("cases: %v", err)
		}
	} else {
		raws = []json.RawMessage{trimmed}
	}
	out := make([]interface{}, 0, len(raws))
	for i, raw := range raws {
		c := one()
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(c); err != nil {
			return nil, badInput("case %d: %v", i, err)
		}
		out = append(out, c)
	}
	return out, nil
}

func hashOf(what, s string) (tlog.Hash, error) {
	h, err := tlog.ParseHash(s)
	if err != nil {
		return tlog.Hash{}, badInput("%s: not a base64 32-byte hash", what)
	}
	return h, nil
}

func hashesOf(what string, list []string) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(list))
	for i, s := range list {
		h, err := hashOf(fmt.Sprintf("%s[%d]", what, i), s)
		if err != nil {
			return nil, err
		}
		out[i] = h
	}
	return out, nil
}

func report(results []result) error {
	enc, err := json.Marshal(results)
	if err != nil {
		return err
	}
	fmt.Println(string(enc))
	for _, r := range results {
		if !r.OK {
			return errors.New("some proofs did not verify")
		}
	}
	return nil
}

func checkInclusion() error {
	data, err := readStdin()
	if err != nil {
		return err
	}
	cases, err := decodeCases(data, func() interface{} { return new(inclusionCase) })
	if err != nil {
		return err
	}
	results := make([]result, len(cases))
	for i, c := range cases {
		ic := c.(*inclusionCase)
		if ic.Index == nil || ic.Size == nil {
			return badInput("case %d: index and size are required", i)
		}
		root, err := hashOf("root", ic.Root)
		if err != nil {
			return err
		}
		var leaf tlog.Hash
		switch {
		case ic.Entry != nil && ic.LeafHash == "":
			entry, err := base64.StdEncoding.DecodeString(*ic.Entry)
			if err != nil {
				return badInput("case %d: entry is not base64", i)
			}
			leaf = tlog.RecordHash(entry)
		case ic.Entry == nil && ic.LeafHash != "":
			if leaf, err = hashOf("leaf_hash", ic.LeafHash); err != nil {
				return err
			}
		default:
			return badInput("case %d: give exactly one of leaf_hash and entry", i)
		}
		proof, err := hashesOf("proof", ic.Proof)
		if err != nil {
			return err
		}
		if err := tlog.CheckRecord(tlog.RecordProof(proof), *ic.Size, root, *ic.Index, leaf); err != nil {
			results[i] = result{Error: err.Error()}
		} else {
			results[i] = result{OK: true}
		}
	}
	return report(results)
}

func checkConsistency() error {
	data, err := readStdin()
	if err != nil {
		return err
	}
	cases, err := decodeCases(data, func() interface{} { return new(consistencyCase) })
	if err != nil {
		return err
	}
	results := make([]result, len(cases))
	for i, c := range cases {
		cc := c.(*consistencyCase)
		if cc.OldSize == nil || cc.NewSize == nil {
			return badInput("case %d: old_size and new_size are required", i)
		}
		oldRoot, err := hashOf("old_root", cc.OldRoot)
		if err != nil {
			return err
		}
		newRoot, err := hashOf("new_root", cc.NewRoot)
		if err != nil {
			return err
		}
		proof, err := hashesOf("proof", cc.Proof)
		if err != nil {
			return err
		}
		if err := tlog.CheckTree(tlog.TreeProof(proof), *cc.NewSize, newRoot, *cc.OldSize, oldRoot); err != nil {
			results[i] = result{Error: err.Error()}
		} else {
			results[i] = result{OK: true}
		}
	}
	return report(results)
}
