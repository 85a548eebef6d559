//go:build darwin && cgo && macsdk

// macapp.m: the AppKit, ApplicationServices and ServiceManagement calls
// behind package macapp. Built only on a Mac (ARC on).

#import <AppKit/AppKit.h>
#import <ApplicationServices/ApplicationServices.h>
#import <Foundation/Foundation.h>
#import <ServiceManagement/ServiceManagement.h>
#include <stdlib.h>
#include <string.h>

#include "macapp.h"

static int fail(NSInteger code, NSString *text, char **msg) {
	*msg = strdup(text.UTF8String ? text.UTF8String : "unknown error");
	return code != 0 ? (int)code : -1;
}

static SMAppService *job(int kind, const char *plist) {
	NSString *name = [NSString stringWithUTF8String:plist];
	return kind == 0 ? [SMAppService daemonServiceWithPlistName:name]
	                 : [SMAppService agentServiceWithPlistName:name];
}

int gmac_register(int kind, const char *plist, char **msg) {
	@autoreleasepool {
		NSError *err = nil;
		if (![job(kind, plist) registerAndReturnError:&err]) {
			return fail(err.code, err.localizedDescription, msg);
		}
		return 0;
	}
}

int gmac_unregister(int kind, const char *plist, char **msg) {
	@autoreleasepool {
		NSError *err = nil;
		if (![job(kind, plist) unregisterAndReturnError:&err]) {
			return fail(err.code, err.localizedDescription, msg);
		}
		return 0;
	}
}

int gmac_status(int kind, const char *plist) {
	@autoreleasepool {
		return (int)job(kind, plist).status;
	}
}

void gmac_open_login_items(void) {
	[SMAppService openSystemSettingsLoginItems];
}

int gmac_ax_trusted(int prompt) {
	@autoreleasepool {
		NSDictionary *opts = @{(__bridge NSString *)kAXTrustedCheckOptionPrompt : @(prompt != 0)};
		return AXIsProcessTrustedWithOptions((__bridge CFDictionaryRef)opts) ? 1 : 0;
	}
}

static NSRunningApplication *running(const char *bundle_id) {
	NSString *bid = [NSString stringWithUTF8String:bundle_id];
	return [NSRunningApplication runningApplicationsWithBundleIdentifier:bid].firstObject;
}

int gmac_open_app(const char *bundle_id, char **msg) {
	@autoreleasepool {
		NSString *bid = [NSString stringWithUTF8String:bundle_id];
		NSURL *url = [[NSWorkspace sharedWorkspace] URLForApplicationWithBundleIdentifier:bid];
		if (url == nil) {
			return fail(-1, @"no application with this bundle identifier is installed", msg);
		}
		__block NSError *openErr = nil;
		dispatch_semaphore_t done = dispatch_semaphore_create(0);
		[[NSWorkspace sharedWorkspace] openApplicationAtURL:url
		                                      configuration:[NSWorkspaceOpenConfiguration configuration]
		                                  completionHandler:^(NSRunningApplication *app, NSError *err) {
			openErr = err;
			dispatch_semaphore_signal(done);
		}];
		dispatch_semaphore_wait(done, DISPATCH_TIME_FOREVER);
		if (openErr != nil) {
			return fail(openErr.code, openErr.localizedDescription, msg);
		}
		return 0;
	}
}

int gmac_activate_app(const char *bundle_id, char **msg) {
	@autoreleasepool {
		NSRunningApplication *app = running(bundle_id);
		if (app == nil) {
			return fail(-1, @"the application is not running", msg);
		}
		if (![app activateWithOptions:NSApplicationActivateAllWindows]) {
			return fail(-1, @"the application did not accept activation", msg);
		}
		return 0;
	}
}

int gmac_quit_app(const char *bundle_id, char **msg) {
	@autoreleasepool {
		NSRunningApplication *app = running(bundle_id);
		if (app == nil) {
			return fail(-1, @"the application is not running", msg);
		}
		if (![app terminate]) {
			return fail(-1, @"the application refused to quit", msg);
		}
		return 0;
	}
}
