// Package searchtest is the conformance suite every search.Index passes
// (search/bolt, search/redis standalone and Cluster): what a user checks
// of one search box, through search.Searcher. A backend's test calls Run
// with a factory. It may import search and store.
package searchtest
