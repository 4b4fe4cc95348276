//! Connections kept open for the server's requests: opening a database runs pragmas and checks
//! its schema, far too much for every request. A connection is taken for one request and put
//! back after it; at most `keep` idle ones are kept.

use super::Location;
use std::sync::Mutex;

use super::desk::Desk;
use super::read::Reader;
use crate::error::Result;

/// A pool of open connections of one kind.
pub struct Pool<T> {
    idle: Mutex<Vec<T>>,
    keep: usize,
    open: Box<dyn Fn() -> Result<T> + Send + Sync>,
}

/// A connection taken from a [`Pool`]; it goes back when dropped.
pub struct Pooled<'p, T> {
    item: Option<T>,
    pool: &'p Pool<T>,
}

impl<T> std::ops::Deref for Pooled<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // Set from construction until drop.
        self.item.as_ref().unwrap_or_else(|| unreachable!())
    }
}

impl<T> std::ops::DerefMut for Pooled<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        self.item.as_mut().unwrap_or_else(|| unreachable!())
    }
}

impl<T> Drop for Pooled<'_, T> {
    fn drop(&mut self) {
        if let Some(item) = self.item.take() {
            if let Ok(mut idle) = self.pool.idle.lock() {
                if idle.len() < self.pool.keep {
                    idle.push(item);
                }
            }
        }
    }
}

impl<T> Pool<T> {
    /// A pool that opens connections with `open` and keeps up to `keep` idle.
    pub fn new(keep: usize, open: impl Fn() -> Result<T> + Send + Sync + 'static) -> Pool<T> {
        Pool {
            idle: Mutex::new(Vec::new()),
            keep,
            open: Box::new(open),
        }
    }

    /// An idle connection, or a new one.
    pub fn get(&self) -> Result<Pooled<'_, T>> {
        let idle = self.idle.lock().ok().and_then(|mut i| i.pop());
        let item = match idle {
            Some(item) => item,
            None => (self.open)()?,
        };
        Ok(Pooled {
            item: Some(item),
            pool: self,
        })
    }
}

/// The server's pools: readers of the lead database and connections to the desk database.
pub struct Pools {
    /// Read-only lead database handles.
    pub leads: Pool<Reader>,
    /// Desk database connections.
    pub desk: Pool<Desk>,
}

impl Pools {
    /// Pools for the lead database at `db` (which must exist) and its desk database, keeping up
    /// to `keep` idle connections of each.
    pub fn open(db: &Location, keep: usize) -> Result<Pools> {
        // Fail now, with the usual message, rather than on the first request.
        drop(Reader::open_pooled(db)?);
        drop(Desk::open(db)?);
        let (a, b) = (db.clone(), db.clone());
        Ok(Pools {
            leads: Pool::new(keep, move || Reader::open_pooled(&a)),
            desk: Pool::new(keep, move || Desk::open(&b)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readers_are_reused_up_to_keep() {
        let (dir, _r) = crate::store::testdb::build();
        let pools = Pools::open(&dir.path().join("t.db").into(), 1).unwrap();
        {
            let mut r = pools.leads.get().unwrap();
            assert!(r.has_leads().unwrap());
        }
        assert_eq!(pools.leads.idle.lock().unwrap().len(), 1);
        let (a, b) = (pools.leads.get().unwrap(), pools.leads.get().unwrap());
        drop((a, b));
        // Only `keep` go back.
        assert_eq!(pools.leads.idle.lock().unwrap().len(), 1);
    }
}
