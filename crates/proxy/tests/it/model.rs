//! Property test of selection and bans against a simple model: whatever the sequence of
//! assignments, bans, unbans, reported outcomes and clock moves,
//! - `assign` and `pick` never hand out a banned proxy while another is available, and error
//!   out (no direct fallback configured) only when all are banned;
//! - a key keeps its proxy for as long as that proxy is not banned;
//! - the per-proxy key counts behind sticky balancing match the assignments;
//! - stats add up: requests = successes + failures.

use std::{collections::HashMap, num::NonZeroU32, time::Duration};

use proptest::prelude::*;
use spam_proxy::{
    Failure, FailureKind, ManualClock, PoolConfig, ProxyId, ProxyPool, ProxyUrl, Strategy as Select,
};

const PROXIES: usize = 4;
const KEYS: u8 = 8;

#[derive(Debug, Clone)]
enum Op {
    Assign(u8),
    Unassign(u8),
    Pick(u8),
    Ban(usize),
    Unban(usize),
    Fail(usize),
    Succeed(usize),
    Advance(u64),
}

fn op() -> impl proptest::strategy::Strategy<Value = Op> {
    prop_oneof![
        4 => (0..KEYS).prop_map(Op::Assign),
        1 => (0..KEYS).prop_map(Op::Unassign),
        2 => (0u8..3).prop_map(Op::Pick),
        1 => (0..PROXIES).prop_map(Op::Ban),
        1 => (0..PROXIES).prop_map(Op::Unban),
        2 => (0..PROXIES).prop_map(Op::Fail),
        1 => (0..PROXIES).prop_map(Op::Succeed),
        1 => (0u64..120).prop_map(Op::Advance),
    ]
}

fn strategy(n: u8) -> Select {
    match n {
        0 => Select::RoundRobin,
        1 => Select::Random,
        _ => Select::LeastUsed,
    }
}

proptest! {
    // Each case builds a pool (5 reqwest clients, ~13 ms each in a debug build).
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn selection_and_bans_hold_their_invariants(ops in prop::collection::vec(op(), 1..200)) {
        let clock = ManualClock::new();
        let proxies: Vec<ProxyUrl> = (0..PROXIES)
            .map(|i| format!("socks5://u:p@10.0.0.{i}:1080").parse().unwrap())
            .collect();
        let pool = ProxyPool::new(
            proxies,
            PoolConfig::default()
                .with_ban_ttl(Duration::from_secs(60))
                .with_ban_after_failures(NonZeroU32::new(2).unwrap())
                .with_clock(clock.clone()),
        )
        .unwrap();
        let ids: Vec<ProxyId> = pool.ids().collect();
        let mut model: HashMap<u8, ProxyId> = HashMap::new();
        let dead = || Failure::new(FailureKind::Connect, "refused");

        for op in ops {
            match op {
                Op::Assign(k) => {
                    let banned: Vec<bool> = ids.iter().map(|&id| pool.is_banned(id)).collect();
                    match pool.assign(&k) {
                        Ok(route) => {
                            let id = route.proxy_id().unwrap();
                            prop_assert!(!banned[id.index()]);
                            if let Some(&before) = model.get(&k)
                                && !banned[before.index()]
                            {
                                prop_assert_eq!(id, before, "key {} moved off a healthy proxy", k);
                            }
                            model.insert(k, id);
                        }
                        Err(e) => {
                            prop_assert!(banned.iter().all(|&b| b), "error with a proxy available: {}", e);
                        }
                    }
                }
                Op::Unassign(k) => {
                    prop_assert_eq!(pool.unassign(&k), model.remove(&k));
                }
                Op::Pick(s) => {
                    let available = pool.available();
                    match pool.pick_with(strategy(s)) {
                        Ok(route) => prop_assert!(!pool.is_banned(route.proxy_id().unwrap())),
                        Err(_) => prop_assert_eq!(available, 0),
                    }
                }
                Op::Ban(i) => { pool.ban(ids[i], dead()); }
                Op::Unban(i) => { pool.unban(ids[i]); }
                Op::Fail(i) => { pool.report_failure(ids[i], dead()); }
                Op::Succeed(i) => pool.report_success(ids[i], Duration::from_millis(1)),
                Op::Advance(s) => clock.advance(Duration::from_secs(s)),
            }
            for &k in model.keys() {
                prop_assert_eq!(pool.assigned(&k), model.get(&k).copied());
            }
            for s in pool.stats_all() {
                prop_assert_eq!(s.requests, s.successes + s.failures);
                prop_assert_eq!(s.is_banned(), pool.is_banned(s.id));
            }
        }
        // Sticky balancing: new keys go to the available proxy holding the fewest keys.
        pool.reset();
        let mut held = [0usize; PROXIES];
        for id in model.values() {
            held[id.index()] += 1;
        }
        let fewest = held.iter().copied().min().unwrap();
        let route = pool.assign(&"a brand new key").unwrap();
        prop_assert_eq!(held[route.proxy_id().unwrap().index()], fewest);
    }
}
