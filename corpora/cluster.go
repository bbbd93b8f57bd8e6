package corpora

import (
	"slices"
	"strconv"
)

// ClusterSplit splits items into training and validation parts so that
// items which share any key land in the same part: the keys link items
// into clusters (the connected components of "shares a key", found by
// union-find), and each cluster goes to Validation when HashSplit of its
// smallest key says so. Clusters of more than maxCluster items (0 = no
// limit) always stay in Train, so one giant cluster of a common pattern
// cannot swallow the validation part. Item i's keys are keys[i]; an item
// with no keys is a cluster of its own, hashed by its index.
//
// Give near-duplicates a shared key (a normalised form, a bag of content
// words) and no validation item has a near-duplicate in training.
func ClusterSplit(keys [][]string, valFrac float64, maxCluster int, seed uint64) (Splits, ClusterStats) {
	mustFractions(valFrac, 0)
	n := len(keys)
	parent := make([]int32, n)
	for i := range parent {
		parent[i] = int32(i)
	}
	var find func(int32) int32
	find = func(i int32) int32 {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	owner := map[string]int32{}
	for i, ks := range keys {
		for _, k := range ks {
			j, ok := owner[k]
			if !ok {
				owner[k] = int32(i)
				continue
			}
			a, b := find(int32(i)), find(j)
			if a != b {
				parent[a] = b
			}
		}
	}
	size := make([]int, n)
	label := make([]string, n) // the smallest key of each cluster root
	for i, ks := range keys {
		r := find(int32(i))
		size[r]++
		for _, k := range ks {
			if label[r] == "" || k < label[r] {
				label[r] = k
			}
		}
	}
	var st ClusterStats
	var s Splits
	for i := range keys {
		r := find(int32(i))
		if int(r) == i {
			st.Clusters++
			st.Largest = max(st.Largest, size[r])
		}
		if maxCluster > 0 && size[r] > maxCluster {
			if int(r) == i {
				st.Capped++
				st.CappedItems += size[r]
			}
			s.Train = append(s.Train, i)
			continue
		}
		key := label[r]
		if key == "" {
			key = "#" + strconv.Itoa(int(r))
		}
		if HashSplit(key, valFrac, 0, seed) == Validation {
			s.Validation = append(s.Validation, i)
		} else {
			s.Train = append(s.Train, i)
		}
	}
	slices.Sort(s.Train)
	slices.Sort(s.Validation)
	return s, st
}

// ClusterStats describes the clusters ClusterSplit found.
type ClusterStats struct {
	Clusters    int // connected components
	Largest     int // items in the largest one
	Capped      int // clusters over maxCluster, kept in Train
	CappedItems int // items in them
}
