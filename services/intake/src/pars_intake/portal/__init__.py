"""The provider portal: server-rendered pages over the JSON API, signed in with an API key."""
