//go:build darwin && cgo && macsdk

package keychain

import (
	"errors"
	"fmt"

	kc "github.com/keybase/go-keychain"
)

// Available reports whether the Keychain can be used in this build.
const Available = true

func query(service, account string) kc.Item {
	q := kc.NewItem()
	q.SetSecClass(kc.SecClassGenericPassword)
	q.SetService(service)
	q.SetAccount(account)
	return q
}

// Load returns the data stored for service and account, or ErrNotFound.
func Load(service, account string) ([]byte, error) {
	q := query(service, account)
	q.SetMatchLimit(kc.MatchLimitOne)
	q.SetReturnData(true)
	res, err := kc.QueryItem(q)
	if err != nil {
		return nil, fmt.Errorf("keychain: load %s/%s: %w", service, account, err)
	}
	if len(res) == 0 {
		return nil, fmt.Errorf("keychain: load %s/%s: %w", service, account, ErrNotFound)
	}
	return res[0].Data, nil
}

// Store saves data for service and account, replacing what was there.
func Store(service, account string, data []byte) error {
	return StoreLabeled(service, account, Label, data)
}

// StoreLabeled is Store with the label Keychain Access shows.
func StoreLabeled(service, account, label string, data []byte) error {
	item := kc.NewGenericPassword(service, account, label, data, "")
	item.SetSynchronizable(kc.SynchronizableNo)
	item.SetAccessible(kc.AccessibleAfterFirstUnlockThisDeviceOnly)
	err := kc.AddItem(item)
	if errors.Is(err, kc.ErrorDuplicateItem) {
		update := kc.NewItem()
		update.SetData(data)
		err = kc.UpdateItem(query(service, account), update)
	}
	if err != nil {
		return fmt.Errorf("keychain: store %s/%s: %w (hint: a daemon without a login session may have no Keychain; use file storage)", service, account, err)
	}
	return nil
}

// Delete removes the item for service and account; a missing item is not
// an error.
func Delete(service, account string) error {
	err := kc.DeleteItem(query(service, account))
	if err != nil && !errors.Is(err, kc.ErrorItemNotFound) {
		return fmt.Errorf("keychain: delete %s/%s: %w", service, account, err)
	}
	return nil
}

// Accounts lists the accounts of service's items.
func Accounts(service string) ([]string, error) {
	as, err := kc.GetGenericPasswordAccounts(service)
	if err != nil {
		return nil, fmt.Errorf("keychain: list %s: %w", service, err)
	}
	return as, nil
}
