// An independent OAuth 2.0 authorization server for pesakit's interoperability tests:
// github.com/go-oauth2/oauth2 (a standards-following implementation pesakit shares no
// code with), mounted at Paga's paths. It approves every authorization as one test user,
// issues single-use codes, rotates refresh tokens, and answers errors as RFC 6749 §5.2.
//
// Usage: go run . [--client-id ID] [--client-secret SECRET] [--redirect-domain URL]
// Its first stdout line is "oauth-server listening on http://127.0.0.1:PORT".
package main

import (
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/go-oauth2/oauth2/v4/manage"
	"github.com/go-oauth2/oauth2/v4/models"
	"github.com/go-oauth2/oauth2/v4/server"
	"github.com/go-oauth2/oauth2/v4/store"
)

func main() {
	clientID := flag.String("client-id", "interop-client", "OAuth client id")
	clientSecret := flag.String("client-secret", "interop-secret", "OAuth client secret")
	domain := flag.String("redirect-domain", "https://shop.example", "allowed redirect URI prefix")
	flag.Parse()

	manager := manage.NewDefaultManager()
	manager.SetAuthorizeCodeExp(time.Minute)
	manager.SetAuthorizeCodeTokenCfg(&manage.Config{
		AccessTokenExp:    time.Hour,
		RefreshTokenExp:   24 * time.Hour,
		IsGenerateRefresh: true,
	})
	manager.SetRefreshTokenCfg(&manage.RefreshingConfig{
		AccessTokenExp:     time.Hour,
		IsGenerateRefresh:  true,
		IsRemoveAccess:     true,
		IsRemoveRefreshing: true,
	})
	manager.MustTokenStorage(store.NewMemoryTokenStore())
	clients := store.NewClientStore()
	if err := clients.Set(*clientID, &models.Client{ID: *clientID, Secret: *clientSecret, Domain: *domain}); err != nil {
		panic(err)
	}
	manager.MapClientStorage(clients)

	srv := server.NewDefaultServer(manager)
	srv.SetAllowGetAccessRequest(false)
	srv.SetClientInfoHandler(server.ClientBasicHandler)
	srv.SetUserAuthorizationHandler(func(w http.ResponseWriter, r *http.Request) (string, error) {
		return "interop-user", nil
	})

	mux := http.NewServeMux()
	mux.HandleFunc("/paga-webservices/oauth2/authorization", func(w http.ResponseWriter, r *http.Request) {
		if err := srv.HandleAuthorizeRequest(w, r); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
		}
	})
	mux.HandleFunc("/paga-webservices/oauth2/token", func(w http.ResponseWriter, r *http.Request) {
		_ = srv.HandleTokenRequest(w, r)
	})

	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	fmt.Printf("oauth-server listening on http://%s\n", listener.Addr())
	os.Stdout.Sync()
	if err := http.Serve(listener, mux); err != nil {
		panic(err)
	}
}
