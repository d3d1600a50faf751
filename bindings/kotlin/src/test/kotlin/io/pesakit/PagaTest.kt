package io.pesakit

import kotlinx.coroutines.async
import kotlinx.coroutines.awaitAll
import kotlinx.coroutines.coroutineScope
import kotlinx.coroutines.runBlocking
import kotlinx.serialization.json.Json
import kotlinx.serialization.json.JsonObject
import kotlinx.serialization.json.buildJsonObject
import kotlinx.serialization.json.put
import org.junit.jupiter.api.AfterEach
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNotNull
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.BeforeEach
import org.junit.jupiter.api.Test
import java.math.BigDecimal
import java.time.Instant
import kotlin.time.Duration.Companion.seconds

/** Paga Connect against a fresh emulator per test. */
class PagaTest {
    private lateinit var sandbox: Sandbox

    @BeforeEach
    fun start() {
        sandbox = Sandbox.start()
    }

    @AfterEach
    fun stop() {
        sandbox.close()
    }

    /** Sends [user] through Paga's consent and back; returns the grant. */
    private suspend fun PagaClient.connect(
        user: String,
        scopes: List<String> = PAGA_SCOPES,
        userData: List<String> = emptyList(),
    ): PagaGrant = authorizationUrl(scopes, userData).use { authorization ->
        handleCallback(pagaBrowse(authorization.url()), authorization, user)
    }

    /** The exception of type [T] that [block] (which may suspend) throws. */
    private suspend inline fun <reified T : Throwable> fails(block: () -> Unit): T {
        try {
            block()
        } catch (e: Throwable) {
            if (e is T) return e
            throw AssertionError("expected ${T::class.simpleName}, got $e", e)
        }
        throw AssertionError("expected ${T::class.simpleName}, nothing was thrown")
    }

    private fun payment(reference: String, amount: String) =
        PagaMerchantPaymentRequest(referenceNumber = reference, amount = BigDecimal(amount), customerReference = "customer-42")

    @Test
    fun `the full flow, then suspend and blocking operations`() = runBlocking<Unit> {
        pagaClient(sandbox, MapTokenStore()).use { client ->
            assertEquals(sandbox.pagaBaseUrl, client.baseUrl())
            val grant = client.authorizationUrl(PAGA_SCOPES, listOf("FIRST_NAME", "ACCOUNT_BALANCE")).use { authorization ->
                val url = authorization.url()
                assertTrue(url.startsWith("${sandbox.pagaBaseUrl}/paga-webservices/oauth2/authorization?"), url)
                assertTrue("state=${authorization.state()}" in url, url)
                assertNull(authorization.pkceVerifier())
                val location = pagaBrowse(url)
                assertTrue(location.startsWith(PAGA_REDIRECT_URI), location)
                assertTrue("code=" in location, location)
                client.handleCallback(location, authorization, "alice")
            }
            assertEquals(PAGA_SCOPES, grant.scopes)
            assertEquals(listOf("FIRST_NAME", "ACCOUNT_BALANCE"), grant.userData)
            assertTrue(grant.expiresAt.isAfter(Instant.now()))
            assertTrue((Json.parseToJsonElement(grant.extraJson) as JsonObject).containsKey("authorities"))

            val details = client.userDetails("alice")
            assertEquals("Ada", details.firstName)
            assertEquals("adaobi", details.username)
            assertEquals(0, BigDecimal("50000").compareTo(details.accountBalance!!))

            val paid = client.merchantPayment("alice", payment(newPagaReferenceNumber(), "1000"))
            assertNotNull(paid.transactionId)
            assertEquals(0, BigDecimal("1000").compareTo(paid.amount!!))

            // The blocking twins, from a plain thread's point of view.
            assertEquals(0, BigDecimal("49000").compareTo(client.userDetailsBlocking("alice").accountBalance!!))
            val sent = client.moneyTransferBlocking("alice", PagaMoneyTransferRequest(
                referenceNumber = newPagaReferenceNumber(),
                amount = BigDecimal("250.50"),
                recipient = "08030000002",
                skipMessaging = true,
            ))
            assertNotNull(sent.transactionId)
            assertEquals(0, BigDecimal("250.5").compareTo(sent.amount!!))
            assertTrue(Json.parseToJsonElement(client.oneTimeToken("alice", "otp-1")) is JsonObject)
            assertTrue(Json.parseToJsonElement(client.oneTimeTokenBlocking("alice", "otp-2")) is JsonObject)
        }
    }

    @Test
    fun `blocking callback handling`() {
        pagaClient(sandbox).use { client ->
            val grant = client.authorizationUrl(PAGA_SCOPES, emptyList()).use { authorization ->
                client.handleCallbackBlocking(pagaBrowse(authorization.url()), authorization, "alice")
            }
            assertEquals(PAGA_SCOPES, grant.scopes)
            assertEquals("Ada", client.userDetailsBlocking("alice").firstName)
        }
    }

    @Test
    fun `a forged state is refused before any token request`() = runBlocking<Unit> {
        pagaClient(sandbox).use { client ->
            val location = client.authorizationUrl(PAGA_SCOPES, emptyList()).use { pagaBrowse(it.url()) }
            val error = fails<PesakitException.Authentication> {
                client.authorizationUrl(PAGA_SCOPES, emptyList()).use { other -> client.handleCallback(location, other, "alice") }
            }
            assertTrue("state does not match" in error.summary, error.summary)
            assertEquals(0, sandbox.pagaTokenRequests().size)
        }
    }

    @Test
    fun `a user who declines comes back with access_denied`() = runBlocking<Unit> {
        pagaClient(sandbox).use { client ->
            val error = fails<PesakitException.Authentication> {
                client.authorizationUrl(PAGA_SCOPES, emptyList()).use { authorization ->
                    client.handleCallback(pagaBrowse(authorization.url(), "denying-paga-user"), authorization, "bob")
                }
            }
            assertEquals("access_denied", error.gatewayCode)
            assertEquals(0, sandbox.pagaTokenRequests().size)
            val unknown = fails<PesakitException.Authentication> { client.userDetails("bob") }
            assertTrue("send the user to Paga again" in unknown.summary, unknown.summary)
        }
    }

    @Test
    fun `form-body token requests`() = runBlocking<Unit> {
        pagaClient(sandbox).use { it.connect("alice") }
        val token = sandbox.pagaTokenRequests().single()
        assertTrue((token.str("body") ?: "").contains("grant_type=authorization_code"), token.toString())
        assertFalse((token.str("query") ?: "").contains("grant_type"), token.toString())
        assertTrue((token["headers"] as JsonObject).entries.any { (k, v) ->
            k.lowercase() == "authorization" && v.toString().contains("Basic ")
        }, token.toString())
    }

    @Test
    fun `query-string token requests`() = runBlocking<Unit> {
        pagaClient(sandbox, options = pagaOptions(sandbox, style = PagaTokenRequestStyle.QUERY_STRING)).use { client ->
            client.connect("alice")
            assertEquals("Ada", client.userDetails("alice").firstName)
        }
        val token = sandbox.pagaTokenRequests().single()
        assertTrue((token.str("query") ?: "").contains("grant_type=authorization_code"), token.toString())
        assertTrue((token.str("body") ?: "").isEmpty(), token.toString())
    }

    @Test
    fun `PKCE sends a challenge and then its verifier`() = runBlocking<Unit> {
        pagaClient(sandbox, options = pagaOptions(sandbox, pkce = true)).use { client ->
            client.authorizationUrl(PAGA_SCOPES, emptyList()).use { authorization ->
                val verifier = authorization.pkceVerifier()!!
                assertTrue("code_challenge=" in authorization.url())
                assertTrue("code_challenge_method=S256" in authorization.url())
                assertFalse(verifier in authorization.url())
                assertFalse(verifier in authorization.toString(), authorization.toString())
                val location = pagaBrowse(authorization.url())
                // An authorization kept elsewhere (state and verifier) and restored works the same.
                PagaAuthorization.restore(authorization.url(), authorization.state(), verifier).use { restored ->
                    client.handleCallback(location, restored, "alice")
                }
                val token = sandbox.pagaTokenRequests().single()
                assertTrue((token.str("body") ?: "").contains("code_verifier=$verifier"), token.toString())
            }
            assertEquals("Ada", client.userDetails("alice").firstName)
        }
    }

    @Test
    fun `expired access tokens are refreshed once for concurrent calls`() = runBlocking<Unit> {
        pagaClient(sandbox, MapTokenStore()).use { client ->
            client.connect("alice")
            client.connect("bob")
            sandbox.control("POST", "/_sandbox/paga/tokens/expire", buildJsonObject { put("which", "access") })
            sandbox.clearRequests()
            val all = coroutineScope { (1..20).map { async { client.userDetails("alice") } }.awaitAll() }
            assertTrue(all.all { it.firstName == "Ada" })
            assertEquals(1, sandbox.pagaTokenRequests().size)
            assertTrue((sandbox.pagaTokenRequests().single().str("body") ?: "").contains("grant_type=refresh_token"))
            client.userDetails("bob")
            assertEquals(2, sandbox.pagaTokenRequests().size)
        }
    }

    @Test
    fun `Paga errorCode results are gateway errors with the code`() = runBlocking<Unit> {
        pagaClient(sandbox).use { client ->
            client.connect("alice", scopes = listOf("MERCHANT_PAYMENT"))
            val poor = fails<PesakitException.Gateway> { client.merchantPayment("alice", payment("big", "10000000")) }
            assertEquals("10", poor.gatewayCode)
            assertEquals("Insufficient balance", poor.gatewayMessage)
            assertEquals(ErrorKind.GATEWAY, poor.kind)
            client.merchantPayment("alice", payment("once", "10"))
            val duplicate = fails<PesakitException.Gateway> { client.merchantPaymentBlocking("alice", payment("once", "10")) }
            assertEquals("17", duplicate.gatewayCode)
        }
    }

    @Test
    fun `a missing scope is a permission error`() = runBlocking<Unit> {
        pagaClient(sandbox).use { client ->
            client.connect("alice", scopes = listOf("MERCHANT_PAYMENT"))
            val error = fails<PesakitException.Permission> {
                client.moneyTransfer("alice", PagaMoneyTransferRequest(newPagaReferenceNumber(), BigDecimal("5"), "08030000002"))
            }
            assertEquals(403, error.status?.toInt())
        }
    }

    @Test
    fun `a Kotlin token store keeps every user's tokens across clients`() = runBlocking<Unit> {
        val store = MapTokenStore()
        pagaClient(sandbox, store).use { client ->
            client.connect("alice")
            client.connect("bob")
        }
        assertEquals(2, store.entries.size)
        assertTrue(store.entries.keys.any { "alice" in it } && store.entries.keys.any { "bob" in it }, store.entries.keys.toString())
        sandbox.clearRequests()
        pagaClient(sandbox, store).use { client ->
            // A new client (a restart) reuses the stored tokens: no token request.
            assertEquals("Ada", client.userDetails("alice").firstName)
            assertEquals("Ada", client.userDetailsBlocking("bob").firstName)
            assertEquals(0, sandbox.pagaTokenRequests().size)
            client.forgetUser("alice")
            assertEquals(1, store.entries.size)
            val error = fails<PesakitException.Authentication> { client.userDetails("alice") }
            assertTrue("send the user to Paga again" in error.summary, error.summary)
        }
    }

    @Test
    fun `toString never shows a secret`() = runBlocking<Unit> {
        val store = MapTokenStore()
        val options = pagaOptions(sandbox, pkce = true).apply {
            requestTimeout = 5.seconds
            refreshSkew = 30.seconds
        }
        assertEquals(5_000uL, options.requestTimeoutMs)
        assertEquals(30.seconds, options.refreshSkew)
        pagaClient(sandbox, store, options).use { client ->
            assertFalse(PAGA_CLIENT_SECRET in client.toString(), client.toString())
            assertFalse(PAGA_CLIENT_SECRET in options.toString(), options.toString())
            val grant = client.authorizationUrl(PAGA_SCOPES, emptyList()).use { authorization ->
                val verifier = authorization.pkceVerifier()!!
                assertFalse(verifier in authorization.toString(), authorization.toString())
                client.handleCallback(pagaBrowse(authorization.url()), authorization, "alice")
            }
            val tokens = TokenSet.fromJson(store.entries.values.single())
            tokens.use {
                val access = it.accessToken()
                val refresh = it.refreshToken()!!
                for (text in listOf(grant.toString(), grant.extraJson, client.toString())) {
                    assertFalse(access in text, text)
                    assertFalse(refresh in text, text)
                }
            }
        }
    }
}
