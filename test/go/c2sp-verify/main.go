// Command c2sp-verify is an independent verifier of a C2SP tlog-tiles log
// (https://c2sp.org/tlog-tiles, https://c2sp.org/tlog-checkpoint,
// https://c2sp.org/signed-note) written against golang.org/x/mod/sumdb/note
// and golang.org/x/mod/sumdb/tlog, so that third-party code, not ours,
// decides whether the files our log writes are correct.
//
// Usage:
//
//	c2sp-verify -vkey '<verifier key>' <logdir>
//
// <logdir> holds `checkpoint`, `tile/<L>/<N>[.p/<W>]` and
// `tile/entries/<N>[.p/<W>]`. The program:
//
//   - opens the checkpoint with note.Open under the given verifier key and
//     parses its body (origin = key name, decimal size, base64 root,
//     optional extension lines);
//   - reads every entry bundle for that size, parses it strictly, and
//     rebuilds the tree with tlog.RecordHash / tlog.StoredHashes;
//   - checks tlog.TreeHash(size) against the checkpoint root;
//   - recomputes every hash tile the tree has at every level with
//     tlog.ReadTileData and compares it byte for byte with the file;
//   - proves and checks inclusion (tlog.ProveRecord / tlog.CheckRecord) for a
//     sample of indices and consistency (tlog.ProveTree / tlog.CheckTree)
//     from a few smaller sizes, once from the rebuilt hashes and once from
//     the tile files through tlog.TileHashReader (which authenticates the
//     tiles against the checkpoint root by itself);
//   - if `checkpoint.<N>` files exist beside `checkpoint` (as in Tessera's
//     test data), opens each and checks its root against the tree.
//
// On success it prints a JSON summary on stdout and exits 0. On any problem
// it prints what and where on stderr and exits 1. Usage errors exit 2.
//
// Only the standard library and golang.org/x/mod are used; it builds with
// Go 1.19 in GOPATH mode against Debian's golang-golang-x-mod-dev.
package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

const (
	tileHeight  = 8
	tileWidth   = 1 << tileHeight // 256 hashes or entries in a full tile
	maxProblems = 50
)

type summary struct {
	OK               bool           `json:"ok"`
	Origin           string         `json:"origin"`
	Size             int64          `json:"size"`
	Root             string         `json:"root"`
	Extensions       int            `json:"extensions"`
	Cosignatures     int            `json:"unverifiedSignatures"`
	Entries          int64          `json:"entries"`
	BundlesChecked   int            `json:"bundlesChecked"`
	TilesChecked     map[string]int `json:"tilesChecked"`
	RecordProofs     int            `json:"recordProofs"`
	TreeProofs       int            `json:"treeProofs"`
	OlderCheckpoints int            `json:"olderCheckpoints"`
}

// problems collects failures; the program keeps going where it safely can so
// that one run shows every bad file.
type problems struct{ list []string }

func (p *problems) add(format string, args ...interface{}) {
	if len(p.list) < maxProblems {
		p.list = append(p.list, fmt.Sprintf(format, args...))
	} else if len(p.list) == maxProblems {
		p.list = append(p.list, "... (further problems not shown)")
	}
}

func main() {
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: c2sp-verify -vkey '<verifier key>' <logdir>\n")
		flag.PrintDefaults()
	}
	vkey := flag.String("vkey", "", "C2SP signed-note verifier key of the log (name+hash+base64)")
	flag.Parse()
	if *vkey == "" || flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	verifier, err := note.NewVerifier(*vkey)
	if err != nil {
		fmt.Fprintf(os.Stderr, "c2sp-verify: bad -vkey: %v\n", err)
		os.Exit(2)
	}
	sum, probs, fatal := run(flag.Arg(0), verifier)
	if fatal != nil {
		probs.add("%v", fatal)
	}
	if len(probs.list) > 0 {
		for _, p := range probs.list {
			fmt.Fprintf(os.Stderr, "c2sp-verify: FAIL: %s\n", p)
		}
		os.Exit(1)
	}
	sum.OK = true
	out, err := json.Marshal(sum)
	if err != nil {
		fmt.Fprintf(os.Stderr, "c2sp-verify: %v\n", err)
		os.Exit(1)
	}
	fmt.Printf("%s\n", out)
}

// ---------------------------------------------------------------------------
// C2SP paths (tlog.Tile.Path is the Go sumdb layout tile/H/L/N, not C2SP's).

// encodeN formats a tile index as zero-padded 3-digit groups, all but the
// last prefixed with "x": 1234067 -> "x001/x234/067".
func encodeN(n int64) string {
	s := fmt.Sprintf("%03d", n%1000)
	for rest := n / 1000; rest > 0; rest /= 1000 {
		s = fmt.Sprintf("x%03d/", rest%1000) + s
	}
	return s
}

func withWidth(s string, w int) string {
	if w > 0 && w < tileWidth {
		return fmt.Sprintf("%s.p/%d", s, w)
	}
	return s
}

// tilePath is tile/<L>/<N>[.p/<W>]; W = 0 or 256 means a full tile.
func tilePath(level int, n int64, w int) string {
	return withWidth(fmt.Sprintf("tile/%d/%s", level, encodeN(n)), w)
}

// bundlePath is tile/entries/<N>[.p/<W>].
func bundlePath(n int64, w int) string {
	return withWidth("tile/entries/"+encodeN(n), w)
}

// ---------------------------------------------------------------------------
// Checkpoint.

type checkpoint struct {
	origin     string
	size       int64
	root       tlog.Hash
	extensions []string
	unverified int
}

var decimalRE = regexp.MustCompile(`^(0|[1-9][0-9]*)$`)

// openCheckpoint verifies the signed note and parses the body strictly.
func openCheckpoint(path string, verifier note.Verifier) (*checkpoint, error) {
	msg, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	n, err := note.Open(msg, note.VerifierList(verifier))
	if err != nil {
		return nil, fmt.Errorf("%s: note.Open: %v", path, err)
	}
	found := false
	for _, s := range n.Sigs {
		if s.Name == verifier.Name() && s.Hash == verifier.KeyHash() {
			found = true
		}
	}
	if !found {
		return nil, fmt.Errorf("%s: no verified signature by %s", path, verifier.Name())
	}
	// note.Open guarantees the text ends in "\n".
	lines := strings.Split(strings.TrimSuffix(n.Text, "\n"), "\n")
	if len(lines) < 3 {
		return nil, fmt.Errorf("%s: checkpoint body has %d lines, want at least 3 (origin, size, root)", path, len(lines))
	}
	c := &checkpoint{origin: lines[0], unverified: len(n.UnverifiedSigs)}
	if c.origin != verifier.Name() {
		return nil, fmt.Errorf("%s: origin line %q is not the verifier key name %q", path, c.origin, verifier.Name())
	}
	if !decimalRE.MatchString(lines[1]) {
		return nil, fmt.Errorf("%s: size line %q is not a canonical decimal number", path, lines[1])
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil {
		return nil, fmt.Errorf("%s: size line %q: %v", path, lines[1], err)
	}
	c.size = size
	root, err := base64.StdEncoding.Strict().DecodeString(lines[2])
	if err != nil || len(root) != tlog.HashSize || base64.StdEncoding.EncodeToString(root) != lines[2] {
		return nil, fmt.Errorf("%s: root line %q is not canonical base64 of 32 bytes", path, lines[2])
	}
	copy(c.root[:], root)
	for i, ext := range lines[3:] {
		if ext == "" {
			return nil, fmt.Errorf("%s: extension line %d is empty", path, i+1)
		}
	}
	c.extensions = lines[3:]
	return c, nil
}

// emptyRoot is the RFC 6962 hash of the empty tree, SHA-256(""). (tlog.TreeHash
// defines the empty tree as all zeros, which is not what C2SP logs sign.)
func emptyRoot() tlog.Hash { return tlog.Hash(sha256.Sum256(nil)) }

// ---------------------------------------------------------------------------
// Entry bundles.

// parseBundle splits a bundle into exactly want entries of uint16-BE length
// + bytes, with no trailing data.
func parseBundle(path string, data []byte, want int) ([][]byte, error) {
	var entries [][]byte
	off := 0
	for len(entries) < want {
		if off == len(data) {
			return nil, fmt.Errorf("%s: bundle ends after %d entries, want %d", path, len(entries), want)
		}
		if off+2 > len(data) {
			return nil, fmt.Errorf("%s: truncated length prefix of entry %d at byte %d", path, len(entries), off)
		}
		n := int(binary.BigEndian.Uint16(data[off:]))
		if off+2+n > len(data) {
			return nil, fmt.Errorf("%s: entry %d at byte %d claims %d bytes, only %d left", path, len(entries), off, n, len(data)-off-2)
		}
		entries = append(entries, data[off+2:off+2+n])
		off += 2 + n
	}
	if off != len(data) {
		return nil, fmt.Errorf("%s: %d trailing bytes after %d entries (at byte %d)", path, len(data)-off, want, off)
	}
	return entries, nil
}

// ---------------------------------------------------------------------------
// Hash storage.

type memHashes []tlog.Hash

func (m *memHashes) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		if x < 0 || x >= int64(len(*m)) {
			return nil, fmt.Errorf("stored hash index %d not available (have %d)", x, len(*m))
		}
		out[i] = (*m)[x]
	}
	return out, nil
}

// fileTiles is a tlog.TileReader over the C2SP tile files in a directory.
type fileTiles struct{ dir string }

func (f fileTiles) Height() int { return tileHeight }

func (f fileTiles) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		if t.H != tileHeight || t.L < 0 {
			return nil, fmt.Errorf("unexpected tile request %+v", t)
		}
		p := filepath.Join(f.dir, filepath.FromSlash(tilePath(t.L, t.N, t.W)))
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		if len(data) != t.W*tlog.HashSize {
			return nil, fmt.Errorf("%s: %d bytes, want %d", p, len(data), t.W*tlog.HashSize)
		}
		out[i] = data
	}
	return out, nil
}

func (f fileTiles) SaveTiles([]tlog.Tile, [][]byte) {}

// ---------------------------------------------------------------------------

func run(dir string, verifier note.Verifier) (*summary, *problems, error) {
	probs := &problems{}
	sum := &summary{TilesChecked: map[string]int{}}

	cpPath := filepath.Join(dir, "checkpoint")
	cp, err := openCheckpoint(cpPath, verifier)
	if err != nil {
		return nil, probs, err
	}
	sum.Origin, sum.Size, sum.Root = cp.origin, cp.size, base64.StdEncoding.EncodeToString(cp.root[:])
	sum.Extensions, sum.Cosignatures = len(cp.extensions), cp.unverified
	size := cp.size

	// Entry bundles -> record hashes -> all stored hashes.
	var hashes memHashes
	if size < 1<<24 {
		hashes = make(memHashes, 0, tlog.StoredHashCount(size))
	}
	var leaves []tlog.Hash
	var index int64
	for n := int64(0); n*tileWidth < size; n++ {
		w := tileWidth
		if rest := size - n*tileWidth; rest < tileWidth {
			w = int(rest)
		}
		p := filepath.Join(dir, filepath.FromSlash(bundlePath(n, w)))
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, probs, fmt.Errorf("entry bundle for a tree of size %d: %v", size, err)
		}
		entries, err := parseBundle(p, data, w)
		if err != nil {
			return nil, probs, err
		}
		for _, e := range entries {
			leaf := tlog.RecordHash(e)
			stored, err := tlog.StoredHashesForRecordHash(index, leaf, &hashes)
			if err != nil {
				return nil, probs, fmt.Errorf("%s: tlog.StoredHashes(%d): %v", p, index, err)
			}
			if int64(len(hashes)) != tlog.StoredHashIndex(0, index) {
				return nil, probs, fmt.Errorf("internal: stored hash count %d, want %d", len(hashes), tlog.StoredHashIndex(0, index))
			}
			hashes = append(hashes, stored...)
			leaves = append(leaves, leaf)
			index++
		}
		sum.BundlesChecked++
	}
	sum.Entries = index
	if index != size {
		return nil, probs, fmt.Errorf("internal: read %d entries, checkpoint size %d", index, size)
	}

	// Root.
	root := emptyRoot()
	if size > 0 {
		root, err = tlog.TreeHash(size, &hashes)
		if err != nil {
			return nil, probs, fmt.Errorf("tlog.TreeHash(%d): %v", size, err)
		}
	}
	if root != cp.root {
		return nil, probs, fmt.Errorf("%s: root %s in checkpoint, but the entries in tile/entries/ hash to %s (size %d)",
			cpPath, cp.root, root, size)
	}

	// Hash tiles, every level.
	for level := 0; size>>(uint(tileHeight*level)) > 0; level++ {
		count := size >> uint(tileHeight*level) // hashes at tree level 8*level
		full := count / tileWidth
		partial := int(count % tileWidth)
		checked := 0
		check := func(n int64, w int) {
			p := filepath.Join(dir, filepath.FromSlash(tilePath(level, n, w)))
			want, err := tlog.ReadTileData(tlog.Tile{H: tileHeight, L: level, N: n, W: w}, &hashes)
			if err != nil {
				probs.add("%s: tlog.ReadTileData: %v", p, err)
				return
			}
			got, err := os.ReadFile(p)
			if err != nil {
				probs.add("%v", err)
				return
			}
			checked++
			if bytes.Equal(got, want) {
				return
			}
			for i := 0; i < w; i++ {
				a, b := i*tlog.HashSize, (i+1)*tlog.HashSize
				if b > len(got) || !bytes.Equal(got[a:b], want[a:b]) {
					gotHex := "(none)"
					if a < len(got) {
						end := b
						if end > len(got) {
							end = len(got)
						}
						gotHex = hex.EncodeToString(got[a:end])
					}
					probs.add("%s: %d bytes (want %d); first bad hash #%d (bytes %d..%d, tree level %d node %d): got %s want %s",
						p, len(got), len(want), i, a, b, tileHeight*level, n*tileWidth+int64(i), gotHex, hex.EncodeToString(want[a:b]))
					return
				}
			}
			probs.add("%s: %d bytes, want %d (first %d bytes match; trailing data)", p, len(got), len(want), len(want))
		}
		for n := int64(0); n < full; n++ {
			check(n, tileWidth)
		}
		if partial > 0 {
			check(full, partial)
		}
		sum.TilesChecked[strconv.Itoa(level)] = checked
	}
	if len(probs.list) > 0 {
		return nil, probs, nil
	}

	// Proofs, from the rebuilt hashes and from the tile files.
	tileReader := tlog.TileHashReader(tlog.Tree{N: size, Hash: root}, fileTiles{dir: dir})
	readers := []struct {
		name string
		r    tlog.HashReader
	}{{"rebuilt from entries", &hashes}, {"tile files via tlog.TileHashReader", tileReader}}

	for _, i := range sample(size, []int64{0, 1, 2, 127, 255, 256, 257, 511, 512, 65535, 65536, size / 3, size / 2, size - 2, size - 1}, 0) {
		var first tlog.RecordProof
		for k, rd := range readers {
			proof, err := tlog.ProveRecord(size, i, rd.r)
			if err != nil {
				probs.add("tlog.ProveRecord(size %d, index %d) from %s: %v", size, i, rd.name, err)
				continue
			}
			if err := tlog.CheckRecord(proof, size, cp.root, i, leaves[i]); err != nil {
				probs.add("tlog.CheckRecord(size %d, index %d) from %s against checkpoint root: %v", size, i, rd.name, err)
				continue
			}
			if k == 0 {
				first = proof
			} else if !equalHashes(first, proof) {
				probs.add("inclusion proof for index %d differs between %s and %s", i, readers[0].name, rd.name)
			}
			// The proof must not also prove a different leaf.
			if size > 1 {
				j := (i + 1) % size
				if leaves[j] != leaves[i] && tlog.CheckRecord(proof, size, cp.root, i, leaves[j]) == nil {
					probs.add("tlog.CheckRecord accepted the wrong leaf for index %d", i)
				}
			}
		}
		sum.RecordProofs++
	}

	for _, old := range sample(size, []int64{1, 2, 3, 7, 255, 256, 257, 1000, 65536, size / 2, size - 1}, 1) {
		oldRoot, err := tlog.TreeHash(old, &hashes)
		if err != nil {
			probs.add("tlog.TreeHash(%d): %v", old, err)
			continue
		}
		var first tlog.TreeProof
		for k, rd := range readers {
			proof, err := tlog.ProveTree(size, old, rd.r)
			if err != nil {
				probs.add("tlog.ProveTree(%d -> %d) from %s: %v", old, size, rd.name, err)
				continue
			}
			if err := tlog.CheckTree(proof, size, cp.root, old, oldRoot); err != nil {
				probs.add("tlog.CheckTree(%d -> %d) from %s against checkpoint root: %v", old, size, rd.name, err)
				continue
			}
			if k == 0 {
				first = proof
			} else if !equalHashes(tlog.RecordProof(first), tlog.RecordProof(proof)) {
				probs.add("consistency proof %d -> %d differs between %s and %s", old, size, readers[0].name, rd.name)
			}
		}
		sum.TreeProofs++
	}

	// Older checkpoints beside the current one (checkpoint.<N>), if any.
	names, _ := filepath.Glob(filepath.Join(dir, "checkpoint.*"))
	sort.Strings(names)
	for _, name := range names {
		suffix := strings.TrimPrefix(filepath.Base(name), "checkpoint.")
		if !decimalRE.MatchString(suffix) {
			continue
		}
		old, err := openCheckpoint(name, verifier)
		if err != nil {
			probs.add("%v", err)
			continue
		}
		if strconv.FormatInt(old.size, 10) != suffix {
			probs.add("%s: size %d does not match the file name", name, old.size)
			continue
		}
		if old.size > size {
			probs.add("%s: size %d is larger than the current checkpoint's %d", name, old.size, size)
			continue
		}
		want := emptyRoot()
		if old.size > 0 {
			if want, err = tlog.TreeHash(old.size, &hashes); err != nil {
				probs.add("%s: tlog.TreeHash(%d): %v", name, old.size, err)
				continue
			}
			proof, err := tlog.ProveTree(size, old.size, tileReader)
			if err == nil {
				err = tlog.CheckTree(proof, size, cp.root, old.size, old.root)
			}
			if err != nil {
				probs.add("%s: not consistent with checkpoint (size %d): %v", name, size, err)
				continue
			}
		}
		if want != old.root {
			probs.add("%s: root %s, but the first %d entries hash to %s", name, old.root, old.size, want)
			continue
		}
		sum.OlderCheckpoints++
	}

	return sum, probs, nil
}

// sample returns the distinct candidates in [min, size), plus a few spread
// deterministically over the range, sorted.
func sample(size int64, candidates []int64, min int64) []int64 {
	set := map[int64]bool{}
	for _, c := range candidates {
		if c >= min && c < size {
			set[c] = true
		}
	}
	x := uint64(0x9e3779b97f4a7c15)
	for k := 0; k < 8 && size > min; k++ {
		x = x*6364136223846793005 + 1442695040888963407
		set[min+int64((x>>11)%uint64(size-min))] = true
	}
	out := make([]int64, 0, len(set))
	for v := range set {
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func equalHashes(a, b tlog.RecordProof) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
