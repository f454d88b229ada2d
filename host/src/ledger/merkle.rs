//! RFC 6962 / RFC 9162 Merkle tree hashing: leaf `SHA-256(0x00 || data)`,
//! node `SHA-256(0x01 || left || right)`; roots, inclusion proofs and
//! consistency proofs, and their verification.

use sha2::{Digest, Sha256};

pub type Hash = [u8; 32];

pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(data);
    h.finalize().into()
}

pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// The largest power of two smaller than `n` (n >= 2).
fn split(n: usize) -> usize {
    let mut k = 1;
    while k << 1 < n {
        k <<= 1;
    }
    k
}

/// An incrementally built tree head: the roots of the perfect subtrees
/// that make up the tree (sizes = the binary digits of its size).
#[derive(Debug, Clone, Default)]
pub struct Frontier {
    /// (subtree size, subtree root), sizes strictly decreasing.
    stack: Vec<(u64, Hash)>,
    size: u64,
}

impl Frontier {
    pub fn push(&mut self, leaf: Hash) {
        let mut node = (1u64, leaf);
        while let Some(&(size, left)) = self.stack.last() {
            if size != node.0 {
                break;
            }
            self.stack.pop();
            node = (size * 2, node_hash(&left, &node.1));
        }
        self.stack.push(node);
        self.size += 1;
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// MTH of the leaves pushed so far.
    pub fn root(&self) -> Hash {
        let mut it = self.stack.iter().rev();
        let Some(&(_, mut acc)) = it.next() else { return empty_root() };
        for (_, left) in it {
            acc = node_hash(left, &acc);
        }
        acc
    }
}

/// MTH(D[n]) over leaf hashes.
pub fn root(leaves: &[Hash]) -> Hash {
    let mut f = Frontier::default();
    for l in leaves {
        f.push(*l);
    }
    f.root()
}

/// PATH(m, D[n]): the audit path of leaf `m` (RFC 6962, 2.1.1).
pub fn inclusion_proof(m: usize, leaves: &[Hash]) -> Vec<Hash> {
    let n = leaves.len();
    if n <= 1 {
        return vec![];
    }
    let k = split(n);
    if m < k {
        let mut p = inclusion_proof(m, &leaves[..k]);
        p.push(root(&leaves[k..]));
        p
    } else {
        let mut p = inclusion_proof(m - k, &leaves[k..]);
        p.push(root(&leaves[..k]));
        p
    }
}

/// PROOF(m, D[n]): proof that the first `m` leaves are a prefix (2.1.2).
pub fn consistency_proof(m: usize, leaves: &[Hash]) -> Vec<Hash> {
    fn sub(m: usize, d: &[Hash], complete: bool) -> Vec<Hash> {
        let n = d.len();
        if m == n {
            return if complete { vec![] } else { vec![root(d)] };
        }
        let k = split(n);
        if m <= k {
            let mut p = sub(m, &d[..k], complete);
            p.push(root(&d[k..]));
            p
        } else {
            let mut p = sub(m - k, &d[k..], false);
            p.push(root(&d[..k]));
            p
        }
    }
    if m == 0 || m > leaves.len() {
        return vec![];
    }
    sub(m, leaves, true)
}

/// Verifies an inclusion proof (RFC 9162, 2.1.3.2).
pub fn verify_inclusion(index: u64, size: u64, leaf: &Hash, proof: &[Hash], root: &Hash) -> bool {
    if index >= size {
        return false;
    }
    let (mut fn_, mut sn) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if sn == 0 {
            return false;
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    sn == 0 && &r == root
}

/// Verifies a consistency proof between sizes `m` <= `n` (RFC 9162, 2.1.4.2).
pub fn verify_consistency(m: u64, n: u64, proof: &[Hash], first: &Hash, second: &Hash) -> bool {
    if m == 0 || m > n {
        return false;
    }
    if m == n {
        return proof.is_empty() && first == second;
    }
    let mut path: Vec<Hash> = proof.to_vec();
    if m.is_power_of_two() {
        path.insert(0, *first);
    }
    let (mut fn_, mut sn) = (m - 1, n - 1);
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    let Some((&start, rest)) = path.split_first() else { return false };
    let (mut fr, mut sr) = (start, start);
    for c in rest {
        if sn == 0 {
            return false;
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    sn == 0 && &fr == first && &sr == second
}

pub fn hex(h: &Hash) -> String {
    String::from_utf8(crate::util::hash::hex32(h).to_vec()).expect("hex is ASCII")
}

pub fn from_hex(s: &str) -> Option<Hash> {
    if s.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, chunk) in s.as_bytes().chunks(2).enumerate() {
        out[i] = u8::from_str_radix(std::str::from_utf8(chunk).ok()?, 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Certificate Transparency reference data (RFC 6962 test vectors,
    /// as published with the CT and transparency-dev implementations).
    const LEAVES: [&str; 8] =
        ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"];
    const ROOTS: [&str; 9] = [
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];
    /// (leaf index, tree size, path)
    const INCLUSION: [(usize, usize, &[&str]); 4] = [
        (
            0,
            8,
            &[
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            5,
            8,
            &[
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
        (2, 3, &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
        (
            1,
            5,
            &[
                "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ],
        ),
    ];
    /// (first size, second size, proof)
    const CONSISTENCY: [(usize, usize, &[&str]); 4] = [
        (1, 1, &[]),
        (
            1,
            8,
            &[
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            6,
            8,
            &[
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
        (
            2,
            5,
            &[
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ],
        ),
    ];

    fn leaves() -> Vec<Hash> {
        LEAVES
            .iter()
            .map(|h| {
                let bytes: Vec<u8> =
                    (0..h.len()).step_by(2).map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap()).collect();
                leaf_hash(&bytes)
            })
            .collect()
    }

    fn hs(v: &[&str]) -> Vec<Hash> {
        v.iter().map(|h| from_hex(h).unwrap()).collect()
    }

    #[test]
    fn reference_roots() {
        let l = leaves();
        for n in 0..=8 {
            assert_eq!(hex(&root(&l[..n])), ROOTS[n], "size {n}");
        }
    }

    #[test]
    fn reference_inclusion_proofs() {
        let l = leaves();
        for (m, n, path) in INCLUSION {
            let proof = inclusion_proof(m, &l[..n]);
            assert_eq!(proof, hs(path), "leaf {m} of {n}");
            let r = from_hex(ROOTS[n]).unwrap();
            assert!(verify_inclusion(m as u64, n as u64, &l[m], &proof, &r));
            assert!(!verify_inclusion(m as u64, n as u64, &l[(m + 1) % n], &proof, &r));
        }
    }

    #[test]
    fn reference_consistency_proofs() {
        let l = leaves();
        for (m, n, path) in CONSISTENCY {
            let proof = consistency_proof(m, &l[..n]);
            assert_eq!(proof, hs(path), "{m} -> {n}");
            let (a, b) = (from_hex(ROOTS[m]).unwrap(), from_hex(ROOTS[n]).unwrap());
            assert!(verify_consistency(m as u64, n as u64, &proof, &a, &b));
            if m != n {
                assert!(!verify_consistency(m as u64, n as u64, &proof, &b, &b));
            }
        }
    }

    /// A small deterministic generator for property tests.
    fn xorshift(seed: &mut u64) -> u64 {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        *seed
    }

    #[test]
    fn every_proof_in_every_small_tree_verifies_and_tampering_fails() {
        let mut seed = 6962;
        for n in 1..=40usize {
            let l: Vec<Hash> = (0..n).map(|_| leaf_hash(&xorshift(&mut seed).to_le_bytes())).collect();
            let roots: Vec<Hash> = (0..=n).map(|k| root(&l[..k])).collect();
            for m in 0..n {
                let p = inclusion_proof(m, &l);
                assert!(verify_inclusion(m as u64, n as u64, &l[m], &p, &roots[n]), "{m}/{n}");
                let mut bad = l[m];
                bad[0] ^= 1;
                assert!(!verify_inclusion(m as u64, n as u64, &bad, &p, &roots[n]));
            }
            for m in 1..=n {
                let p = consistency_proof(m, &l);
                assert!(verify_consistency(m as u64, n as u64, &p, &roots[m], &roots[n]), "{m}->{n}");
                if m < n {
                    let mut bad = roots[m];
                    bad[31] ^= 1;
                    assert!(!verify_consistency(m as u64, n as u64, &p, &bad, &roots[n]));
                }
            }
        }
    }

    #[test]
    fn frontier_matches_recursive_root() {
        let mut seed = 9162;
        let l: Vec<Hash> = (0..300).map(|_| leaf_hash(&xorshift(&mut seed).to_le_bytes())).collect();
        let mut f = Frontier::default();
        for (i, leaf) in l.iter().enumerate() {
            f.push(*leaf);
            let mut k = 1;
            // The recursive definition, for comparison.
            fn mth(d: &[Hash]) -> Hash {
                match d.len() {
                    0 => empty_root(),
                    1 => d[0],
                    n => {
                        let k = split(n);
                        node_hash(&mth(&d[..k]), &mth(&d[k..]))
                    }
                }
            }
            k += i;
            assert_eq!(f.root(), mth(&l[..k]), "size {k}");
        }
    }
}
