// Keycloak's own policy enforcer (org.keycloak:keycloak-policy-enforcer) as a small UMA resource server,
// for interop tests of the uma crates against a Keycloak-written RS.
//
// Run with the JDK source launcher (no compile step):  java -cp "$(cat cp.txt)" PepServer.java
// `run` next to this file resolves cp.txt with Maven and starts it. See README.md.
//
// Environment:
//   KC_URL             Keycloak base URL, e.g. http://127.0.0.1:18080 (required)
//   KC_REALM           realm (default uma)
//   PEP_CLIENT_ID      resource server client (default uma-rs)
//   PEP_CLIENT_SECRET  its secret (required)
//   PEP_PORT           port on 127.0.0.1 (default 0 = a free port)
//   PEP_ENFORCER_JSON  optional path of a policy-enforcer JSON file replacing the built-in configuration
//
// Prints exactly one line on stdout once it listens: "java-pep listening on http://127.0.0.1:PORT".
// Everything else (request log, enforcer log) goes to stderr.

import com.sun.net.httpserver.Headers;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

import org.keycloak.AuthorizationContext;
import org.keycloak.adapters.authorization.PolicyEnforcer;
import org.keycloak.adapters.authorization.TokenPrincipal;
import org.keycloak.adapters.authorization.spi.HttpRequest;
import org.keycloak.adapters.authorization.spi.HttpResponse;
import org.keycloak.adapters.authorization.util.JsonUtils;

public class PepServer {

    // The paths of tests/keycloak/uma-realm.json (client uma-rs). The enforcer resolves each path to its
    // resource once, at start-up: by "name" when given, else by URI. Lookup by name only finds resources
    // owned by the RS client itself (the authz client sends owner=<client id>), so the user-owned
    // alice-album must be found by its URI; with "name": "alice-album" the path gets no resource id and
    // the enforcer asks for tickets without a resource (which Keycloak then never grants).
    static final String DEFAULT_CONFIG = """
        {
          "enforcement-mode": "ENFORCING",
          "user-managed-access": {},
          "paths": [
            { "path": "/alice/album",
              "methods": [ { "method": "GET", "scopes": ["album:view"] },
                           { "method": "DELETE", "scopes": ["album:delete"] } ] },
            { "path": "/docs/shared", "name": "shared-doc",
              "methods": [ { "method": "GET", "scopes": ["doc:read"] },
                           { "method": "PUT", "scopes": ["doc:write"] } ] },
            { "path": "/docs/notes", "name": "shared-notes",
              "methods": [ { "method": "GET", "scopes": ["doc:read"] } ] },
            { "path": "/docs/secret", "name": "secret-doc",
              "methods": [ { "method": "GET", "scopes": ["doc:read"] } ] }
          ]
        }
        """;

    public static void main(String[] args) {
        try {
            start();
        } catch (Exception e) {
            System.err.println("java-pep: failed to start: " + chain(e));
            System.exit(1);
        }
    }

    static void start() throws Exception {
        String kcUrl = required("KC_URL");
        String realm = env("KC_REALM", "uma");
        String clientId = env("PEP_CLIENT_ID", "uma-rs");
        String secret = required("PEP_CLIENT_SECRET");
        int port = Integer.parseInt(env("PEP_PORT", "0"));
        String configFile = env("PEP_ENFORCER_JSON", "");
        byte[] config = configFile.isEmpty()
                ? DEFAULT_CONFIG.getBytes(StandardCharsets.UTF_8)
                : Files.readAllBytes(Path.of(configFile));

        Map<String, Object> credentials = new HashMap<>();
        credentials.put("secret", secret);
        // Fetches the realm's uma2-configuration and resolves every configured path to its resource now.
        PolicyEnforcer enforcer = PolicyEnforcer.builder()
                .authServerUrl(kcUrl)
                .realm(realm)
                .clientId(clientId)
                .credentials(credentials)
                .enforcerConfig(new ByteArrayInputStream(config))
                .build();
        enforcer.getPaths().forEach((path, cfg) -> System.err.println(
                "java-pep: path " + path + " -> resource id=" + cfg.getId() + " name=" + cfg.getName()));

        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 64);
        // Bounded: 8 workers, 256 queued exchanges; beyond that the dispatcher thread runs the exchange itself.
        ThreadPoolExecutor pool = new ThreadPoolExecutor(8, 8, 60, TimeUnit.SECONDS,
                new ArrayBlockingQueue<>(256), new ThreadPoolExecutor.CallerRunsPolicy());
        server.setExecutor(pool);
        server.createContext("/", exchange -> handle(enforcer, exchange));
        server.start();
        System.out.println("java-pep listening on http://127.0.0.1:" + server.getAddress().getPort());
        System.out.flush();
    }

    static void handle(PolicyEnforcer enforcer, HttpExchange exchange) throws IOException {
        String method = exchange.getRequestMethod();
        String path = exchange.getRequestURI().getRawPath();
        try {
            Request request = new Request(exchange);
            Response response = new Response();
            String raw = request.bearer;
            if (raw != null) {
                // An authentication layer normally sits in front of the enforcer; the enforcer itself only
                // decodes the JWT payload (no signature or expiry check). Refuse what it cannot even decode,
                // instead of letting enforce() throw.
                try {
                    JsonUtils.asAccessToken(raw);
                } catch (RuntimeException e) {
                    exchange.getResponseHeaders().set("WWW-Authenticate", "Bearer error=\"invalid_token\"");
                    reply(exchange, 401, "java-pep: bearer token is not a JWT\n");
                    log(method, path, 401, "(wrapper: undecodable bearer)");
                    return;
                }
            }
            AuthorizationContext context;
            try {
                context = enforcer.enforce(request, response);
            } catch (RuntimeException e) {
                System.err.println("java-pep: enforcer threw on " + method + " " + path + ": " + chain(e));
                reply(exchange, 500, "java-pep: enforcer error: " + e + "\n");
                log(method, path, 500, "");
                return;
            }
            if (response.status == 0 && context.isGranted()) {
                reply(exchange, 200, "java-pep: " + path + "\n");
                log(method, path, 200, "");
                return;
            }
            // Denied: answer what the enforcer set. It always calls sendError when it denies; 403 is only a
            // fallback should a future enforcer deny without doing so.
            int status = response.status != 0 ? response.status : 403;
            response.headers.forEach((name, value) -> exchange.getResponseHeaders().set(name, value));
            reply(exchange, status, response.message == null ? null : response.message + "\n");
            log(method, path, status, response.headers.containsKey("WWW-Authenticate") ? "(challenge)" : "");
        } catch (IOException | RuntimeException e) {
            System.err.println("java-pep: " + method + " " + path + " failed: " + e);
            throw e;
        } finally {
            exchange.close();
        }
    }

    static void reply(HttpExchange exchange, int status, String body) throws IOException {
        if (body == null || "HEAD".equals(exchange.getRequestMethod())) {
            exchange.sendResponseHeaders(status, -1);
            return;
        }
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", "text/plain; charset=utf-8");
        exchange.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }

    static void log(String method, String path, int status, String note) {
        System.err.println("java-pep: " + method + " " + path + " -> " + status + (note.isEmpty() ? "" : " " + note));
    }

    /** One line: the exception and each cause's message. */
    static String chain(Throwable e) {
        StringBuilder line = new StringBuilder(e.toString());
        for (Throwable c = e.getCause(); c != null && c != c.getCause(); c = c.getCause()) {
            line.append(" <- ").append(c);
        }
        return line.toString();
    }

    static String env(String name, String fallback) {
        String v = System.getenv(name);
        return v == null || v.isEmpty() ? fallback : v;
    }

    static String required(String name) {
        String v = System.getenv(name);
        if (v == null || v.isEmpty()) {
            throw new IllegalArgumentException("environment variable " + name + " is not set");
        }
        return v;
    }

    /** The enforcer's view of one request. */
    static final class Request implements HttpRequest {
        final HttpExchange exchange;
        final Headers headers;
        final String bearer;
        byte[] buffered;

        Request(HttpExchange exchange) {
            this.exchange = exchange;
            this.headers = exchange.getRequestHeaders();
            this.bearer = bearerToken(headers.get("Authorization"));
        }

        /** The token of the first "Bearer <token>" Authorization header, else null. */
        static String bearerToken(List<String> values) {
            if (values == null) {
                return null;
            }
            for (String value : values) {
                String[] parts = value.trim().split("\\s+");
                if (parts.length == 2 && parts[0].equalsIgnoreCase("Bearer")) {
                    return parts[1];
                }
            }
            return null;
        }

        @Override
        public String getRelativePath() {
            String path = exchange.getRequestURI().getRawPath();
            return path == null || path.isEmpty() ? "/" : path;
        }

        @Override
        public String getMethod() {
            return exchange.getRequestMethod();
        }

        @Override
        public String getURI() {
            return getRelativePath();
        }

        @Override
        public List<String> getHeaders(String name) {
            List<String> values = headers.get(name);
            return values == null ? Collections.emptyList() : values;
        }

        @Override
        public String getFirstParam(String name) {
            String query = exchange.getRequestURI().getRawQuery();
            if (query == null) {
                return null;
            }
            for (String pair : query.split("&")) {
                int eq = pair.indexOf('=');
                String key = URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
                if (key.equals(name)) {
                    return eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
                }
            }
            return null;
        }

        @Override
        public String getCookieValue(String name) {
            for (String header : getHeaders("Cookie")) {
                for (String cookie : header.split(";")) {
                    int eq = cookie.indexOf('=');
                    if (eq > 0 && cookie.substring(0, eq).trim().equals(name)) {
                        return cookie.substring(eq + 1).trim();
                    }
                }
            }
            return null;
        }

        @Override
        public String getRemoteAddr() {
            return exchange.getRemoteAddress().getAddress().getHostAddress();
        }

        @Override
        public boolean isSecure() {
            return false;
        }

        @Override
        public String getHeader(String name) {
            return headers.getFirst(name);
        }

        @Override
        public InputStream getInputStream(boolean buffer) {
            if (!buffer) {
                return buffered != null ? new ByteArrayInputStream(buffered) : exchange.getRequestBody();
            }
            if (buffered == null) {
                try {
                    buffered = exchange.getRequestBody().readAllBytes();
                } catch (IOException e) {
                    throw new RuntimeException(e);
                }
            }
            return new ByteArrayInputStream(buffered);
        }

        @Override
        public TokenPrincipal getPrincipal() {
            return bearer == null ? null : () -> bearer;
        }
    }

    /** What the enforcer decided to answer; written out by handle(). */
    static final class Response implements HttpResponse {
        int status;
        String message;
        final Map<String, String> headers = new LinkedHashMap<>();

        @Override
        public void sendError(int code) {
            status = code;
        }

        @Override
        public void sendError(int code, String message) {
            status = code;
            this.message = message;
        }

        @Override
        public void setHeader(String name, String value) {
            headers.put(name, value);
        }
    }
}
