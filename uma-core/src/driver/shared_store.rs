//! The handle an adapter's [`Options::shared_store`](super::Options::shared_store) holds: a store
//! shared by a fleet of replicas ([`crate::store`]), how to use it, and who hears about its failures.

use std::sync::Arc;

use crate::store::{AsyncRptStore, RptStore, StoreEvent, StoreOptions};

/// A callback told about store failures, bad entries and the breaker (secret-free).
pub type StoreObserver = Arc<dyn Fn(&StoreEvent) + Send + Sync>;

/// A shared store and how to use it. `Store` is `dyn RptStore` for a blocking driver and
/// `dyn AsyncRptStore` for an async one; the adapters name it `SharedStore`.
///
/// ```
/// use uma_core::driver::SharedStore;
/// use uma_core::store::{RptStore, StoreOptions};
///
/// fn shared(store: impl RptStore + 'static) -> SharedStore<dyn RptStore> {
///     SharedStore::<dyn RptStore>::new(store)
///         .with_options(StoreOptions::default().with_refresh_tokens(false))
///         .with_observer(|event| eprintln!("shared store: {event:?}"))
/// }
/// ```
pub struct SharedStore<Store: ?Sized> {
    store: Arc<Store>,
    options: StoreOptions,
    observer: Option<StoreObserver>,
}

impl<Store: ?Sized> Clone for SharedStore<Store> {
    fn clone(&self) -> Self {
        Self {
            store: Arc::clone(&self.store),
            options: self.options.clone(),
            observer: self.observer.clone(),
        }
    }
}

impl<Store: ?Sized> std::fmt::Debug for SharedStore<Store> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedStore")
            .field("options", &self.options)
            .field("observer", &self.observer.is_some())
            .finish_non_exhaustive()
    }
}

impl SharedStore<dyn RptStore> {
    /// `store` (blocking) with the default [`StoreOptions`].
    pub fn new(store: impl RptStore + 'static) -> Self {
        Self::from_arc(Arc::new(store))
    }
}

impl SharedStore<dyn AsyncRptStore> {
    /// `store` (async) with the default [`StoreOptions`].
    pub fn new(store: impl AsyncRptStore + 'static) -> Self {
        Self::from_arc(Arc::new(store))
    }
}

impl<Store: ?Sized> SharedStore<Store> {
    /// A store already shared (e.g. by several clients in one process).
    pub fn from_arc(store: Arc<Store>) -> Self {
        Self {
            store,
            options: StoreOptions::default(),
            observer: None,
        }
    }

    /// Sets how the store is used.
    pub fn with_options(mut self, options: StoreOptions) -> Self {
        self.options = options;
        self
    }

    /// Calls `observer` on every store failure, bad entry and breaker change.
    pub fn with_observer(mut self, observer: impl Fn(&StoreEvent) + Send + Sync + 'static) -> Self {
        self.observer = Some(Arc::new(observer));
        self
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// How the store is used.
    pub fn options(&self) -> &StoreOptions {
        &self.options
    }

    /// Hands `events` to the observer, if there is one.
    pub fn report(&self, events: &[StoreEvent]) {
        if let Some(observer) = &self.observer {
            events.iter().for_each(|event| observer(event));
        }
    }

    /// Whether an observer listens (when none does, a driver may drop the events unread).
    pub fn is_observed(&self) -> bool {
        self.observer.is_some()
    }
}
