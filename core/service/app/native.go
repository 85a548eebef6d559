package app

// Native drives apps through the operating system's own API instead of
// XDG desktop entries. The macOS build sets it from its platform package
// (Launch Services / NSWorkspace and Apple Events by bundle id, in
// xpcbridge/macapp); core never imports that package. When Native is nil
// the service uses desktop entries, and on macOS refuses with -32007.
var Native *NativeApps

// NativeApps is the platform's app API. Every function may be called
// from several goroutines at once.
type NativeApps struct {
	// Find returns the id (on macOS the bundle id) and display name of the
	// installed app that name designates, by name or by id.
	Find func(name string) (id, display string, ok bool)
	// Open launches the app (or brings it forward) and opens files in it.
	Open func(id string, files []string) error
	// Activate brings the app to the front, launching it if needed.
	Activate func(id string) error
	// Quit asks the app to quit, as the user would (it may ask to save).
	Quit func(id string) error
}
