//! Keycloak 26.x as seen on a real server: `resource_set` filters and `deep`, the issuer taken from
//! the Host header, and the shapes of tickets, RPTs and PAT responses (keycloak-real.md §3.4, §4, §5).

use crate::common::*;
use serde_json::{Value, json};
use uma_testkit::tokens::{b64decode, decode_jwt_payload};
use uma_testkit::{Dialect, Endpoint, Kit, KitConfig, ResourceDef};

fn kit() -> (Kit, ureq::Agent) {
    let kit = Kit::start(KitConfig::new(Dialect::keycloak())).unwrap();
    let agent = agent_for(&kit);
    (kit, agent)
}

fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
    k.sort_unstable();
    k
}

fn with_host(
    agent: &ureq::Agent,
    method: &str,
    url: &str,
    host: &str,
    auth: Option<&str>,
    form: &[(&str, &str)],
) -> Answer {
    let body = serde_urlencoded::to_string(form).unwrap();
    let mut req = http::Request::builder()
        .method(method)
        .uri(url)
        .header("host", host);
    if let Some(a) = auth {
        req = req.header("authorization", a);
    }
    if !form.is_empty() {
        req = req.header("content-type", "application/x-www-form-urlencoded");
    }
    let mut resp = agent.run(req.body(body).unwrap()).unwrap();
    Answer {
        status: resp.status().as_u16(),
        headers: Vec::new(),
        body: resp.body_mut().read_to_string().unwrap_or_default(),
    }
}

#[test]
fn resource_set_filters_and_deep() {
    // A user-owned resource comes from the configuration (Keycloak 26.7's protection API ignores
    // `owner`); the RS registers the others.
    let mut cfg = KitConfig::new(Dialect::keycloak());
    let mut album = ResourceDef::read_write("alice-album-id", "alice-album", "/alice/album")
        .with_type("urn:t:album")
        .owner_managed_by("alice");
    album.method_scopes = vec![("GET".into(), "album:view".into())];
    cfg.resources.push(album);
    let kit = Kit::start(cfg).unwrap();
    let agent = agent_for(&kit);
    let pat = bearer(&pat(&kit, &agent));
    let rreg = kit.endpoint_url(Endpoint::ResourceRegistration).unwrap();
    for (name, ty, uri, scope) in [
        ("shared-doc", "urn:t:doc", "/docs/shared", "doc:read"),
        ("secret-doc", "urn:t:doc", "/docs/secret", "doc:read"),
    ] {
        let body = json!({"name": name, "type": ty, "uris": [uri], "resource_scopes": [scope],
            "owner": {"id": "alice"}});
        let created = send_json(&agent, "POST", &rreg, Some(&pat), &body);
        assert_eq!(created.status, 201);
        assert_eq!(created.json()["type"], json!(ty));
    }
    let names = |query: &str| -> Vec<String> {
        let a = get(&agent, &format!("{rreg}?{query}&deep=true"), Some(&pat));
        assert_eq!(a.status, 200, "{a:?}");
        let mut n: Vec<String> = a
            .json()
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap().to_string())
            .collect();
        n.sort();
        n
    };
    assert_eq!(names("name=DOC"), ["secret-doc", "shared-doc"]);
    assert!(names("name=doc&exactName=true").is_empty());
    assert_eq!(names("name=shared-doc&exactName=true"), ["shared-doc"]);
    assert_eq!(names("uri=/alice/album"), ["alice-album"]);
    assert_eq!(names("owner=alice"), ["alice-album"]);
    assert_eq!(
        names("owner=rs&type=urn:t:doc"),
        ["secret-doc", "shared-doc"]
    );
    assert_eq!(names("scope=album:view"), ["alice-album"]);
    assert_eq!(names("type=urn:t:album"), ["alice-album"]);
    assert_eq!(names("type=urn:t:doc&first=1&max=1").len(), 1);
    assert_eq!(names("max=2").len(), 2);

    // Without deep: ids only. With deep: Keycloak 26.7's item shape.
    let ids = get(&agent, &format!("{rreg}?name=shared-doc"), Some(&pat)).json();
    assert!(ids.as_array().unwrap().iter().all(Value::is_string));
    let deep = get(
        &agent,
        &format!("{rreg}?name=shared-doc&deep=true"),
        Some(&pat),
    )
    .json();
    let item = &deep[0];
    assert_eq!(item["_id"], ids[0]);
    assert_eq!(
        keys(item),
        [
            "_id",
            "attributes",
            "name",
            "owner",
            "ownerManagedAccess",
            "scopes",
            "type",
            "uris"
        ]
    );
    assert_eq!(item["owner"]["name"], "rs");
    assert_eq!(item["owner"]["id"].as_str().unwrap().len(), 36);
    assert_eq!(
        (&item["ownerManagedAccess"], &item["attributes"]),
        (&json!(false), &json!({}))
    );
    assert_eq!(item["uris"], json!(["/docs/shared"]));
    assert_eq!(item["scopes"][0]["name"], "doc:read");
    assert_eq!(item["scopes"][0]["id"].as_str().unwrap().len(), 36);
}

#[test]
fn issuer_follows_the_host_header() {
    let (kit, agent) = kit();
    let port = kit.as_base().rsplit(':').next().unwrap().to_string();
    let host = format!("localhost:{port}");
    let local_issuer = format!("http://{host}/realms/demo");
    let disco = with_host(&agent, "GET", &kit.discovery_url(), &host, None, &[]).json();
    assert_eq!(disco["issuer"], json!(local_issuer));
    for k in [
        "token_endpoint",
        "permission_endpoint",
        "resource_registration_endpoint",
        "introspection_endpoint",
        "jwks_uri",
    ] {
        assert!(
            disco[k].as_str().unwrap().starts_with(&local_issuer),
            "{k}: {}",
            disco[k]
        );
    }
    assert_eq!(kit.issuer(), format!("{}/realms/demo", kit.as_base()));
    assert!(kit.issuer().contains("127.0.0.1"));

    // A user token minted via localhost names that issuer and is refused at 127.0.0.1.
    let token = token_url(&kit);
    let pw = [
        ("grant_type", "password"),
        ("username", "alice"),
        ("password", "alice-pw"),
        ("client_id", "public-app"),
    ];
    let user = with_host(&agent, "POST", &token, &host, None, &pw).json()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        decode_jwt_payload(&user).unwrap()["iss"],
        json!(local_issuer)
    );
    let t = kit.ticket_for("res-a", "read").unwrap();
    let form = [("grant_type", UMA), ("ticket", t.as_str())];
    let refused = post_form(&agent, &token, Some(&bearer(&user)), &form);
    assert_eq!(
        (refused.status, refused.json()["error_description"].as_str()),
        (400, Some("Invalid bearer token"))
    );
    let ok = with_host(&agent, "POST", &token, &host, Some(&bearer(&user)), &form);
    assert_eq!(ok.status, 200, "{ok:?}");
    let rpt = ok.json()["access_token"].as_str().unwrap().to_string();
    // The RS trusts the 127.0.0.1 issuer only.
    assert_eq!(
        get(&agent, &kit.rs_url("/api/a"), Some(&bearer(&rpt))).status,
        401
    );

    // A PAT minted via localhost: refused by the protection API at 127.0.0.1, inactive there.
    let cc = [("grant_type", "client_credentials")];
    let pat = with_host(
        &agent,
        "POST",
        &token,
        &host,
        Some(&basic("rs", "rs-secret")),
        &cc,
    )
    .json()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let rreg = kit.endpoint_url(Endpoint::ResourceRegistration).unwrap();
    let r = get(&agent, &rreg, Some(&bearer(&pat)));
    assert_eq!(
        (r.status, r.json()["error"].as_str()),
        (401, Some("invalid_token"))
    );
    assert!(
        r.json()["error_description"]
            .as_str()
            .unwrap()
            .starts_with("Invalid token issuer")
    );
    assert_eq!(
        with_host(&agent, "GET", &rreg, &host, Some(&bearer(&pat)), &[]).status,
        200
    );
    let intro = kit.endpoint_url(Endpoint::Introspection).unwrap();
    let i = post_form(
        &agent,
        &intro,
        Some(&basic("rs", "rs-secret")),
        &[("token", &pat)],
    );
    assert_eq!(i.json(), json!({"active": false}));
}

#[test]
fn ticket_rpt_and_pat_shapes() {
    let (kit, agent) = kit();
    // PAT response keys.
    let a = post_form(
        &agent,
        &token_url(&kit),
        Some(&basic("rs", "rs-secret")),
        &[("grant_type", "client_credentials")],
    );
    assert_eq!(
        keys(&a.json()),
        [
            "access_token",
            "expires_in",
            "not-before-policy",
            "refresh_expires_in",
            "scope",
            "token_type"
        ]
    );
    let pat = a.json()["access_token"].as_str().unwrap().to_string();
    // The ticket: 201 {"ticket"}, HS512, aud = issuer, azp = RS, sub = the PAT's subject.
    let perm = kit.endpoint_url(Endpoint::Permission).unwrap();
    let r = send_json(
        &agent,
        "POST",
        &perm,
        Some(&bearer(&pat)),
        &json!([{"resource_id":"res-a","resource_scopes":["read"]}]),
    );
    assert_eq!(
        (r.status, keys(&r.json())),
        (201, vec!["ticket".to_string()])
    );
    let ticket = r.json()["ticket"].as_str().unwrap().to_string();
    let header: Value =
        serde_json::from_slice(&b64decode(ticket.split('.').next().unwrap()).unwrap()).unwrap();
    assert_eq!(
        (&header["alg"], &header["typ"]),
        (&json!("HS512"), &json!("JWT"))
    );
    assert!(header["kid"].is_string());
    let p = decode_jwt_payload(&ticket).unwrap();
    assert_eq!(
        keys(&p),
        ["aud", "azp", "exp", "iat", "jti", "permissions", "sub"]
    );
    assert_eq!(
        (&p["aud"], &p["azp"], &p["sub"]),
        (&json!(kit.issuer()), &json!("rs"), &json!("rs"))
    );
    assert_eq!(
        p["permissions"],
        json!([{"scopes":["read"],"rsid":"res-a"}])
    );
    // The RPT response and payload.
    let user = bearer(&kit.access_token_for("alice"));
    let g = post_form(
        &agent,
        &token_url(&kit),
        Some(&user),
        &[("grant_type", UMA), ("ticket", &ticket)],
    )
    .json();
    assert_eq!(
        keys(&g),
        [
            "access_token",
            "expires_in",
            "not-before-policy",
            "refresh_expires_in",
            "refresh_token",
            "token_type",
            "upgraded"
        ]
    );
    assert_eq!(
        (
            &g["upgraded"],
            &g["expires_in"],
            &g["refresh_expires_in"],
            &g["token_type"]
        ),
        (&json!(false), &json!(300), &json!(1800), &json!("Bearer"))
    );
    let rpt = decode_jwt_payload(g["access_token"].as_str().unwrap()).unwrap();
    assert_eq!(
        rpt["authorization"]["permissions"],
        json!([{"scopes":["read"],"rsid":"res-a","rsname":"Resource A"}])
    );
}
