//! The per-request routing work both gateway benches measure: tenant
//! resolution plus `decide`, as the proxy does it for a GET.

use ehrgate::routing::decision::{decide, StickySource};
use ehrgate::routing::flags::FlagContext;
use ehrgate::routing::route_match::MatchInput;
use ehrgate::routing::tenant::TenantInput;
use ehrgate::routing::RoutingTable;
use http::{HeaderMap, Method};

/// Resolves the tenant and decides; returns the chosen backend index.
pub fn route_once(table: &RoutingTable, headers: &HeaderMap, path: &str) -> u16 {
    let resolved = table
        .tenants()
        .resolve(&TenantInput {
            headers,
            host: None,
            path,
            jwt_tenant: None,
        })
        .unwrap();
    let input = MatchInput {
        method: &Method::GET,
        path,
        headers,
        tenant: resolved.tenant.idx,
        flags: FlagContext {
            tenant: &resolved.tenant.id,
            user: None,
            roles: &[],
            headers,
        },
    };
    let sticky = StickySource {
        request_id: "0123456789abcdef0123",
        user: None,
        query: None,
    };
    decide(table, &input, &sticky).unwrap().backend
}
