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

// Approval notifications (UserNotifications). Each request gets its own
// category, named for the request, whose actions are the buttons the Go
// side offers; the delegate hands the chosen action back to Go. Verified
// only on a Mac (docs/macos.md, Mac test plan).
#import <UserNotifications/UserNotifications.h>

extern void gmacApprovalAnswer(char *id, char *key);

@interface GmacNoteDelegate : NSObject <UNUserNotificationCenterDelegate>
@end

@implementation GmacNoteDelegate
- (void)userNotificationCenter:(UNUserNotificationCenter *)center
    didReceiveNotificationResponse:(UNNotificationResponse *)response
             withCompletionHandler:(void (^)(void))done {
    NSString *rid = response.notification.request.identifier;
    NSString *key = response.actionIdentifier;
    if (![key isEqualToString:UNNotificationDefaultActionIdentifier] &&
        ![key isEqualToString:UNNotificationDismissActionIdentifier]) {
        gmacApprovalAnswer((char *)rid.UTF8String, (char *)key.UTF8String);
    }
    done();
}
- (void)userNotificationCenter:(UNUserNotificationCenter *)center
       willPresentNotification:(UNNotification *)notification
         withCompletionHandler:(void (^)(UNNotificationPresentationOptions))done {
    done(UNNotificationPresentationOptionBanner | UNNotificationPresentationOptionList);
}
@end

static GmacNoteDelegate *gmacDelegate;
static NSMutableDictionary<NSString *, UNNotificationCategory *> *gmacCategories;

int gmac_show_approval(const char *id, const char *title, const char *body,
                       const char **keys, const char **titles, int n, char **msg) {
    @autoreleasepool {
        UNUserNotificationCenter *c = [UNUserNotificationCenter currentNotificationCenter];
        static dispatch_once_t once;
        dispatch_once(&once, ^{
            gmacDelegate = [GmacNoteDelegate new];
            gmacCategories = [NSMutableDictionary new];
            c.delegate = gmacDelegate;
            [c requestAuthorizationWithOptions:(UNAuthorizationOptionAlert | UNAuthorizationOptionSound)
                             completionHandler:^(BOOL granted, NSError *err) {}];
        });
        NSString *rid = [NSString stringWithUTF8String:id];
        NSMutableArray<UNNotificationAction *> *actions = [NSMutableArray new];
        for (int i = 0; i < n; i++) {
            UNNotificationActionOptions opts = UNNotificationActionOptionAuthenticationRequired;
            if (strcmp(keys[i], "deny") == 0) {
                opts |= UNNotificationActionOptionDestructive;
            }
            [actions addObject:[UNNotificationAction actionWithIdentifier:[NSString stringWithUTF8String:keys[i]]
                                                                    title:[NSString stringWithUTF8String:titles[i]]
                                                                  options:opts]];
        }
        NSString *cat = [@"carapace.approval." stringByAppendingString:rid];
        @synchronized (gmacCategories) {
            gmacCategories[cat] = [UNNotificationCategory categoryWithIdentifier:cat actions:actions
                                                               intentIdentifiers:@[] options:0];
            [c setNotificationCategories:[NSSet setWithArray:gmacCategories.allValues]];
        }
        UNMutableNotificationContent *content = [UNMutableNotificationContent new];
        content.title = [NSString stringWithUTF8String:title];
        content.body = [NSString stringWithUTF8String:body];
        content.categoryIdentifier = cat;
        content.interruptionLevel = UNNotificationInterruptionLevelTimeSensitive;
        UNNotificationRequest *req = [UNNotificationRequest requestWithIdentifier:rid content:content trigger:nil];
        __block NSString *failure = nil;
        dispatch_semaphore_t sem = dispatch_semaphore_create(0);
        [c addNotificationRequest:req withCompletionHandler:^(NSError *err) {
            if (err != nil) {
                failure = err.localizedDescription;
            }
            dispatch_semaphore_signal(sem);
        }];
        dispatch_semaphore_wait(sem, dispatch_time(DISPATCH_TIME_NOW, 5 * NSEC_PER_SEC));
        if (failure != nil) {
            *msg = strdup(failure.UTF8String);
            return 1;
        }
        return 0;
    }
}

void gmac_withdraw_approval(const char *id) {
    @autoreleasepool {
        NSString *rid = [NSString stringWithUTF8String:id];
        UNUserNotificationCenter *c = [UNUserNotificationCenter currentNotificationCenter];
        [c removeDeliveredNotificationsWithIdentifiers:@[ rid ]];
        [c removePendingNotificationRequestsWithIdentifiers:@[ rid ]];
        @synchronized (gmacCategories) {
            [gmacCategories removeObjectForKey:[@"carapace.approval." stringByAppendingString:rid]];
        }
    }
}
