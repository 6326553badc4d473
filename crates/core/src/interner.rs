//! Dense ids for repeated keys (strings, tuples of strings), numbered in first-seen order, so a
//! hand-written group-by can keep its groups in a vector indexed by id.

use std::hash::Hash;

use foldhash::HashMap;

/// Keys and their ids: the first key seen is 0, the next new one 1, and so on.
#[derive(Debug, Clone)]
pub struct Interner<K> {
    ids: HashMap<K, u32>,
    keys: Vec<K>,
}

impl<K> Default for Interner<K> {
    fn default() -> Self {
        Interner {
            ids: HashMap::default(),
            keys: Vec::new(),
        }
    }
}

impl<K: Hash + Eq + Copy> Interner<K> {
    /// The key's id; a new key gets the next one (equal to the number of keys before it).
    pub fn id(&mut self, key: K) -> u32 {
        let next = self.keys.len() as u32;
        let id = *self.ids.entry(key).or_insert(next);
        if id == next {
            self.keys.push(key);
        }
        id
    }

    /// Every key, indexed by id.
    pub fn keys(&self) -> &[K] {
        &self.keys
    }

    pub fn into_keys(self) -> Vec<K> {
        self.keys
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_dense_in_first_seen_order() {
        let mut interner = Interner::default();
        let ids: Vec<u32> = ["b", "a", "b", "c", "a"]
            .into_iter()
            .map(|k| interner.id(k))
            .collect();
        assert_eq!(ids, [0, 1, 0, 2, 1]);
        assert_eq!(interner.keys(), ["b", "a", "c"]);
    }
}
